'use strict';
/*
 * Preloaded (`node --require`) into the training processes of `lets worker`: their stdin is a
 * pipe from the worker, and when the worker dies (SIGKILL, a lost machine) that pipe closes
 * and the run dies with it, at once, as if it had been killed with the worker. Its job then
 * goes to another worker, which resumes the run from its last checkpoint; an orphaned run
 * still holding its directory's lock would keep that worker out.
 */
const stdin = process.stdin;
const die = () => process.kill(process.pid, 'SIGKILL');
stdin.on('end', die);
stdin.on('close', die);
stdin.on('error', die);
stdin.resume();
// Reading stdin must not keep a finished run's process alive.
if (typeof stdin.unref === 'function') stdin.unref();
