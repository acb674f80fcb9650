/**
 * Gradients of the convolution backprop kernels, so conv layers are twice differentiable.
 *
 * Conv2DBackpropFilter(x, dy) = dW is bilinear in (x, dy): with ⟨ddW, dW⟩ as the scalar,
 *   ∂/∂x  = Conv2DBackpropInput(dy, ddW)   (conv2dTranspose of dy by ddW)
 *   ∂/∂dy = conv2d(x, ddW)
 * DepthwiseConv2dNativeBackpropFilter(x, dy) likewise, with depthwise ops:
 *   ∂/∂x  = DepthwiseConv2dNativeBackpropInput(dy, ddW),  ∂/∂dy = depthwiseConv2d(x, ddW)
 * DepthwiseConv2dNativeBackpropInput(dy, W) = dx is bilinear in (dy, W):
 *   ∂/∂dy = depthwiseConv2d(ddx, W),  ∂/∂W = DepthwiseConv2dNativeBackpropFilter(ddx, dy)
 * (Conv2DBackpropInput already has a stock gradient of the same form.)
 * Reference: the adjoint identities of TensorFlow's nn_grad.py (_Conv2DBackpropFilterGrad).
 */
import * as tf from '@tensorflow/tfjs-core';
import { overrideGradient, runKernel } from './register';

interface ConvAttrs {
  strides: number | [number, number];
  pad: unknown;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dilations?: number | [number, number];
}

export function registerConvGradients(): void {
  overrideGradient({
    kernelName: 'Conv2DBackpropFilter',
    inputsToSave: ['x', 'dy'],
    gradFunc: (ddw, saved, attrs) => {
      const [x, dy] = saved as tf.Tensor[];
      const a = attrs as unknown as ConvAttrs;
      const dataFormat = a.dataFormat ?? 'NHWC';
      return {
        x: () =>
          runKernel('Conv2DBackpropInput', { dy: dy!, filter: ddw as tf.Tensor }, {
            strides: a.strides, pad: a.pad, dataFormat, dimRoundingMode: a.dimRoundingMode, inputShape: x!.shape,
          }),
        dy: () =>
          runKernel('Conv2D', { x: x!, filter: ddw as tf.Tensor }, {
            strides: a.strides, pad: a.pad, dataFormat, dilations: 1, dimRoundingMode: a.dimRoundingMode,
          }),
      };
    },
  });
  overrideGradient({
    kernelName: 'DepthwiseConv2dNativeBackpropFilter',
    inputsToSave: ['x', 'dy'],
    gradFunc: (ddw, saved, attrs) => {
      const [x, dy] = saved as tf.Tensor[];
      const a = attrs as unknown as ConvAttrs;
      const common = { strides: a.strides, pad: a.pad, dimRoundingMode: a.dimRoundingMode, dilations: a.dilations ?? 1 };
      return {
        x: () =>
          runKernel('DepthwiseConv2dNativeBackpropInput', { dy: dy!, filter: ddw as tf.Tensor }, {
            ...common, inputShape: x!.shape,
          }),
        dy: () => runKernel('DepthwiseConv2dNative', { x: x!, filter: ddw as tf.Tensor }, { ...common, dataFormat: 'NHWC' }),
      };
    },
  });
  overrideGradient({
    kernelName: 'DepthwiseConv2dNativeBackpropInput',
    inputsToSave: ['dy', 'filter'],
    gradFunc: (ddx, saved, attrs) => {
      const [dy, filter] = saved as tf.Tensor[];
      const a = attrs as unknown as ConvAttrs;
      const common = { strides: a.strides, pad: a.pad, dimRoundingMode: a.dimRoundingMode, dilations: a.dilations ?? 1 };
      return {
        dy: () => runKernel('DepthwiseConv2dNative', { x: ddx as tf.Tensor, filter: filter! }, { ...common, dataFormat: 'NHWC' }),
        filter: () =>
          runKernel('DepthwiseConv2dNativeBackpropFilter', { x: ddx as tf.Tensor, dy: dy! }, {
            ...common, filterShape: filter!.shape,
          }),
      };
    },
  });
}
