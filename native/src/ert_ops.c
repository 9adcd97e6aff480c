/* The op table: op name -> kernel + optional load-time check. One line per op; kernels live
 * in src/kernels/<family>_*.c with prototypes in include/ert_kernels.h. Keep it sorted by name (strcmp order). */
#include <string.h>
#include "ert.h"
#include "ert_kernels.h"

static const ert_op OPS[] = {
    {"ADD", ert_k_int8_add, ert_check_int8_add},
    {"ADD_F32", ert_k_float_add, ert_check_float_add},
    {"AVERAGE_POOL_2D", ert_k_int8_avgpool, ert_check_int8_pool},
    {"AVERAGE_POOL_2D_F32", ert_k_float_avgpool, ert_check_float_pool},
    {"CONV_2D", ert_k_int8_conv2d, ert_check_int8_conv2d},
    {"CONV_2D_F32", ert_k_float_conv2d, ert_check_float_conv2d},
    {"DEPTHWISE_CONV_2D", ert_k_int8_depthwise, ert_check_int8_depthwise},
    {"DEPTHWISE_CONV_2D_F32", ert_k_float_depthwise, ert_check_float_depthwise},
    {"DEQUANTIZE", ert_k_int8_dequantize, ert_check_int8_dequantize},
    {"FULLY_CONNECTED", ert_k_int8_fc, ert_check_int8_fc},
    {"FULLY_CONNECTED_F32", ert_k_float_fc, ert_check_float_fc},
    {"MAX_POOL_2D", ert_k_int8_maxpool, ert_check_int8_pool},
    {"MAX_POOL_2D_F32", ert_k_float_maxpool, ert_check_float_pool},
    {"NN_DECIDE", ert_k_nn_decide, ert_check_nn_decide},
    {"NN_GNB", ert_k_nn_gnb, ert_check_nn_gnb},
    {"NN_GNB_Q", ert_k_nn_gnb_q, ert_check_nn_gnb_q},
    {"NN_HIST_TREES", ert_k_nn_hist_trees, ert_check_nn_hist_trees},
    {"NN_KNN", ert_k_nn_knn, ert_check_nn_knn},
    {"NN_KNN_Q", ert_k_nn_knn_q, ert_check_nn_knn_q},
    {"NN_LINEAR", ert_k_nn_linear, ert_check_nn_linear},
    {"NN_LINEAR_Q", ert_k_nn_linear_q, ert_check_nn_linear_q},
    {"NN_PROB", ert_k_nn_prob, ert_check_nn_prob},
    {"NN_QUANTIZE", ert_k_nn_quantize, ert_check_nn_quantize},
    {"NN_SCALE", ert_k_nn_scale, ert_check_nn_scale},
    {"NN_SVM", ert_k_nn_svm, ert_check_nn_svm},
    {"NN_SVM_Q", ert_k_nn_svm_q, ert_check_nn_svm_q},
    {"NN_TREES", ert_k_nn_trees, ert_check_nn_trees},
    {"NN_TREES_Q", ert_k_nn_trees_q, ert_check_nn_trees_q},
    {"ONNX_ADD_F32", ert_k_onnx_add_f32, ert_check_onnx_add_f32},
    {"ONNX_AVERAGE_POOL_F32", ert_k_onnx_average_pool_f32, ert_check_onnx_average_pool_f32},
    {"ONNX_CLIP_F32", ert_k_onnx_clip_f32, ert_check_onnx_clip_f32},
    {"ONNX_CONV_F32", ert_k_onnx_conv_f32, ert_check_onnx_conv_f32},
    {"ONNX_CONV_INTEGER", ert_k_onnx_conv_integer, ert_check_onnx_conv_integer},
    {"ONNX_DEQUANTIZE_LINEAR", ert_k_onnx_dequantize, ert_check_onnx_dequantize},
    {"ONNX_MATMUL_F32", ert_k_onnx_matmul_f32, ert_check_onnx_matmul_f32},
    {"ONNX_MATMUL_INTEGER", ert_k_onnx_matmul_integer, ert_check_onnx_matmul_integer},
    {"ONNX_MAX_POOL_F32", ert_k_onnx_max_pool_f32, ert_check_onnx_max_pool_f32},
    {"ONNX_QLINEAR_ADD", ert_k_onnx_qlinear_add, ert_check_onnx_qlinear_add},
    {"ONNX_QLINEAR_AVERAGE_POOL", ert_k_onnx_qlinear_average_pool, ert_check_onnx_qlinear_average_pool},
    {"ONNX_QLINEAR_CONV", ert_k_onnx_qlinear_conv, ert_check_onnx_qlinear_conv},
    {"ONNX_QLINEAR_MATMUL", ert_k_onnx_qlinear_matmul, ert_check_onnx_qlinear_matmul},
    {"ONNX_QMAX_POOL", ert_k_onnx_qmax_pool, ert_check_onnx_qmax_pool},
    {"ONNX_QUANTIZE_LINEAR", ert_k_onnx_quantize, ert_check_onnx_quantize},
    {"ONNX_RELU_F32", ert_k_onnx_relu_f32, ert_check_onnx_clip_f32},
    {"QUANTIZE", ert_k_int8_quantize, ert_check_int8_quantize},
    {"REQUANTIZE", ert_k_int8_requantize, ert_check_int8_requantize},
    {"RESHAPE", ert_k_copy, ert_check_copy},
    {"SNN_ADD", ert_k_snn_add, ert_check_snn_add},
    {"SNN_ADD_FX", ert_k_snn_add_fx, ert_check_snn_add_fx},
    {"SNN_CONV2D", ert_k_snn_conv2d, ert_check_snn_conv2d},
    {"SNN_CONV2D_EVENT", ert_k_snn_conv2d_event, ert_check_snn_conv2d},
    {"SNN_CONV2D_FX", ert_k_snn_conv2d_fx, ert_check_snn_conv2d_fx},
    {"SNN_COPY", ert_k_copy, ert_check_copy},
    {"SNN_DELAY", ert_k_snn_delay, ert_check_snn_delay},
    {"SNN_LINEAR", ert_k_snn_linear, ert_check_snn_linear},
    {"SNN_LINEAR_EVENT", ert_k_snn_linear_event, ert_check_snn_linear},
    {"SNN_LINEAR_EVENT_FX", ert_k_snn_linear_event_fx, ert_check_snn_linear_fx},
    {"SNN_LINEAR_FX", ert_k_snn_linear_fx, ert_check_snn_linear_fx},
    {"SNN_NEURON", ert_k_snn_neuron, ert_check_snn_neuron},
    {"SNN_NEURON_FX", ert_k_snn_neuron_fx, ert_check_snn_neuron_fx},
    {"SNN_SCALE", ert_k_snn_scale, ert_check_snn_elementwise},
    {"SNN_SCALE_FX", ert_k_snn_scale_fx, ert_check_snn_scale_fx},
    {"SNN_SUMPOOL2D", ert_k_snn_sumpool2d, ert_check_snn_sumpool2d},
    {"SNN_SUMPOOL2D_FX", ert_k_snn_sumpool2d_fx, ert_check_snn_sumpool2d_fx},
    {"SNN_THRESHOLD", ert_k_snn_threshold, ert_check_snn_elementwise},
    {"SNN_THRESHOLD_FX", ert_k_snn_threshold_fx, ert_check_snn_threshold_fx},
    {"SOFTMAX", ert_k_int8_softmax, ert_check_int8_softmax},
    {"SOFTMAX_F32", ert_k_float_softmax, ert_check_float_softmax},
};

/* Binary search: the interpreter looks ops up on every node invoke, so the table must stay
 * sorted by strcmp order (tests/native checks it). */
const ert_op *ert_find_op(const char *name)
{
    uint32_t lo = 0, hi = sizeof OPS / sizeof OPS[0];
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, OPS[mid].name);
        if (!c) return &OPS[mid];
        if (c < 0) hi = mid; else lo = mid + 1;
    }
    return NULL;
}

uint32_t ert_op_count(void) { return sizeof OPS / sizeof OPS[0]; }

const char *ert_op_name(uint32_t i) { return i < ert_op_count() ? OPS[i].name : NULL; }
