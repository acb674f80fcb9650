/**
 * @lets/data — dataset readers, splits, label noise, batching and augmentation.
 * Examples live in host memory as typed arrays; tensors are made per batch.
 */
export { DataError, orThrow, attempt, fail } from './result';
export type { Result } from './result';
export { examples, take, concat, classCounts, sizeOf } from './dataset';
export type { Dataset, Examples, HostArray, InputKind } from './dataset';
export { checkLabels, classIndex } from './labels';
export type { ClassIndex } from './labels';
export { parseIdx, readIdx, isGzip, maybeGunzip, readBytes } from './idx';
export type { IdxArray } from './idx';
export {
  readIdxPair, readMnistFormat, readMnistFiles, readMnist, readFashionMnist, readKmnist, loadMnist, mnistPackageDir,
  MNIST_CLASS_NAMES, FASHION_MNIST_CLASS_NAMES, KMNIST_CLASS_NAMES,
} from './mnist';
export type { MnistFormatOptions, MnistFiles, MnistSource } from './mnist';
export { parseCifarBatch, readCifarBatch, readCifarFiles, readCifar10, readCifar100, cifarRecordSize, CIFAR10_CLASS_NAMES } from './cifar';
export type { CifarVariant, CifarOptions, CifarFiles } from './cifar';
export { parseCsv, readCsv, readCsvDataset, splitCsvLine } from './csv';
export type { CsvOptions, CsvTable, CsvDatasetOptions } from './csv';
export { tokenize } from './tokenizer';
export { buildVocabulary, encode, encodeAll, PAD_ID, OOV_ID } from './vocabulary';
export type { Vocabulary, VocabularyOptions } from './vocabulary';
export { parseTextClassification, readTextClassification, textDataset, readTextDataset, splitTexts } from './text';
export type { LabelledTexts, TextDatasetOptions, TextFilesOptions } from './text';
export { readSpamAssassin, readSpamAssassinTexts, spamAssassinPackageDir, emailBody, emailText, cleanEmailText, SPAM_CLASS_NAMES } from './spam';
export type { SpamOptions } from './spam';
export { holdOut, holdOutIndices, splitExamples } from './split';
export type { HoldOutOptions } from './split';
export { labelNoise, noisyLabels, noisyExamples, noiseFraction, CIFAR10_ASYMMETRIC_MAP } from './noise';
export type { NoiseKind, NoiseOptions } from './noise';
export { subsetPerClass, subsetTrain } from './subset';
export type { SubsetOptions } from './subset';
export { batches, prefetchBatches, batchIndices, batchCount, hostBatch, toBatch } from './batches';
export type { Batch, BatchOptions, HostBatch } from './batches';
export { randomCrop, horizontalFlip, normalizePerChannel, composeAugmentations, channelStats } from './augment';
export type { Augmentation, BatchShape } from './augment';
export { gaussianBlobs, twoSpirals, teacherNetwork, teacherWeights } from './synthetic';
export type { BlobsOptions, SpiralsOptions, TeacherOptions, TeacherWeights } from './synthetic';
export { readDataset, loadDataset, loadDatasetOrThrow, prepare, DATASET_NAMES, DATASETS } from './registry';
export type { DatasetSpec, DatasetName, Preparation, DatasetEntry, DatasetSource, DatasetLocation } from './registry';
