/* Prototypes of every kernel and load-time check named in src/ert_ops.c. Kernels follow the
 * contract in ert.h: no allocation, no globals, all data through the accessors. */
#ifndef ERT_KERNELS_H
#define ERT_KERNELS_H

#include "ert.h"

/* kernels/copy.c: output bytes = input 0 bytes (RESHAPE and other pure view changes). */
ert_status ert_k_copy(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_check_copy(ert_ctx *ctx, uint32_t node);

/* kernels/snn_float.c: spiking-network ops, float32 (SNN_*). */
ert_status ert_k_snn_linear(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_snn_linear_event(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_snn_conv2d(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_snn_conv2d_event(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_snn_sumpool2d(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_snn_add(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_snn_scale(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_snn_threshold(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_snn_neuron(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_snn_delay(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_check_snn_linear(ert_ctx *ctx, uint32_t node);
ert_status ert_check_snn_conv2d(ert_ctx *ctx, uint32_t node);
ert_status ert_check_snn_sumpool2d(ert_ctx *ctx, uint32_t node);
ert_status ert_check_snn_add(ert_ctx *ctx, uint32_t node);
ert_status ert_check_snn_elementwise(ert_ctx *ctx, uint32_t node);
ert_status ert_check_snn_neuron(ert_ctx *ctx, uint32_t node);
ert_status ert_check_snn_delay(ert_ctx *ctx, uint32_t node);

/* kernels/snn_fixed.c: spiking-network ops, fixed point (SNN_*_FX). */
ert_status ert_k_snn_linear_fx(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_snn_linear_event_fx(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_snn_conv2d_fx(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_snn_sumpool2d_fx(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_snn_add_fx(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_snn_scale_fx(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_snn_threshold_fx(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_snn_neuron_fx(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_check_snn_linear_fx(ert_ctx *ctx, uint32_t node);
ert_status ert_check_snn_conv2d_fx(ert_ctx *ctx, uint32_t node);
ert_status ert_check_snn_sumpool2d_fx(ert_ctx *ctx, uint32_t node);
ert_status ert_check_snn_add_fx(ert_ctx *ctx, uint32_t node);
ert_status ert_check_snn_scale_fx(ert_ctx *ctx, uint32_t node);
ert_status ert_check_snn_threshold_fx(ert_ctx *ctx, uint32_t node);
ert_status ert_check_snn_neuron_fx(ert_ctx *ctx, uint32_t node);

/* kernels/int8_*.c, float_*.c (+ tflite_common.c): TFLite int8 ops bit-exact with TFLite
 * Micro, and their float32 (_F32) counterparts. docs/int8.md. */
ert_status ert_k_int8_conv2d(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_int8_depthwise(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_int8_fc(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_int8_avgpool(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_int8_maxpool(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_int8_add(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_int8_quantize(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_int8_requantize(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_int8_dequantize(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_int8_softmax(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_float_conv2d(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_float_depthwise(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_float_fc(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_float_avgpool(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_float_maxpool(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_float_add(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_float_softmax(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_check_int8_conv2d(ert_ctx *ctx, uint32_t node);
ert_status ert_check_int8_depthwise(ert_ctx *ctx, uint32_t node);
ert_status ert_check_int8_fc(ert_ctx *ctx, uint32_t node);
ert_status ert_check_int8_pool(ert_ctx *ctx, uint32_t node);
ert_status ert_check_int8_add(ert_ctx *ctx, uint32_t node);
ert_status ert_check_int8_quantize(ert_ctx *ctx, uint32_t node);
ert_status ert_check_int8_requantize(ert_ctx *ctx, uint32_t node);
ert_status ert_check_int8_dequantize(ert_ctx *ctx, uint32_t node);
ert_status ert_check_int8_softmax(ert_ctx *ctx, uint32_t node);
ert_status ert_check_float_conv2d(ert_ctx *ctx, uint32_t node);
ert_status ert_check_float_depthwise(ert_ctx *ctx, uint32_t node);
ert_status ert_check_float_fc(ert_ctx *ctx, uint32_t node);
ert_status ert_check_float_pool(ert_ctx *ctx, uint32_t node);
ert_status ert_check_float_add(ert_ctx *ctx, uint32_t node);
ert_status ert_check_float_softmax(ert_ctx *ctx, uint32_t node);

/* kernels/onnx_*.c: ONNX arithmetic (float32 requantization, round half to even), NCHW. */
ert_status ert_k_onnx_quantize(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_onnx_dequantize(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_onnx_qlinear_conv(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_onnx_conv_integer(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_onnx_conv_f32(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_onnx_qlinear_matmul(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_onnx_matmul_integer(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_onnx_matmul_f32(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_onnx_qlinear_add(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_onnx_add_f32(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_onnx_relu_f32(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_onnx_clip_f32(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_onnx_average_pool_f32(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_onnx_qlinear_average_pool(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_onnx_max_pool_f32(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_k_onnx_qmax_pool(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_check_onnx_quantize(ert_ctx *ctx, uint32_t node);
ert_status ert_check_onnx_dequantize(ert_ctx *ctx, uint32_t node);
ert_status ert_check_onnx_qlinear_conv(ert_ctx *ctx, uint32_t node);
ert_status ert_check_onnx_conv_integer(ert_ctx *ctx, uint32_t node);
ert_status ert_check_onnx_conv_f32(ert_ctx *ctx, uint32_t node);
ert_status ert_check_onnx_qlinear_matmul(ert_ctx *ctx, uint32_t node);
ert_status ert_check_onnx_matmul_integer(ert_ctx *ctx, uint32_t node);
ert_status ert_check_onnx_matmul_f32(ert_ctx *ctx, uint32_t node);
ert_status ert_check_onnx_qlinear_add(ert_ctx *ctx, uint32_t node);
ert_status ert_check_onnx_add_f32(ert_ctx *ctx, uint32_t node);
ert_status ert_check_onnx_clip_f32(ert_ctx *ctx, uint32_t node);
ert_status ert_check_onnx_average_pool_f32(ert_ctx *ctx, uint32_t node);
ert_status ert_check_onnx_qlinear_average_pool(ert_ctx *ctx, uint32_t node);
ert_status ert_check_onnx_max_pool_f32(ert_ctx *ctx, uint32_t node);
ert_status ert_check_onnx_qmax_pool(ert_ctx *ctx, uint32_t node);

/* kernels/nn_*.c: non-neural models from scikit-learn (NN_*; runtime/kernels/nonneural_*.py). */
ert_status ert_k_nn_trees(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_check_nn_trees(ert_ctx *ctx, uint32_t node);
ert_status ert_k_nn_hist_trees(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_check_nn_hist_trees(ert_ctx *ctx, uint32_t node);
ert_status ert_k_nn_trees_q(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_check_nn_trees_q(ert_ctx *ctx, uint32_t node);
ert_status ert_k_nn_scale(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_check_nn_scale(ert_ctx *ctx, uint32_t node);
ert_status ert_k_nn_quantize(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_check_nn_quantize(ert_ctx *ctx, uint32_t node);
ert_status ert_k_nn_linear(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_check_nn_linear(ert_ctx *ctx, uint32_t node);
ert_status ert_k_nn_linear_q(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_check_nn_linear_q(ert_ctx *ctx, uint32_t node);
ert_status ert_k_nn_gnb(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_check_nn_gnb(ert_ctx *ctx, uint32_t node);
ert_status ert_k_nn_gnb_q(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_check_nn_gnb_q(ert_ctx *ctx, uint32_t node);
ert_status ert_k_nn_svm(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_check_nn_svm(ert_ctx *ctx, uint32_t node);
ert_status ert_k_nn_svm_q(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_check_nn_svm_q(ert_ctx *ctx, uint32_t node);
ert_status ert_k_nn_knn(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_check_nn_knn(ert_ctx *ctx, uint32_t node);
ert_status ert_k_nn_knn_q(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_check_nn_knn_q(ert_ctx *ctx, uint32_t node);
ert_status ert_k_nn_decide(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_check_nn_decide(ert_ctx *ctx, uint32_t node);
ert_status ert_k_nn_prob(ert_ctx *ctx, uint32_t node, uint32_t activity[ERT_N_ACTIVITY]);
ert_status ert_check_nn_prob(ert_ctx *ctx, uint32_t node);

#endif
