// Small helpers over the plain C N-API (node_api.h): typed-array views with no copy, integer
// arguments, and errors thrown back to JavaScript.
#pragma once
#include <node_api.h>
#include <cstdint>
#include <cstddef>
#include <string>

namespace lets {

struct ArgError {
  std::string message;
};

inline void check(napi_env env, napi_status s, const char* what) {
  if (s != napi_ok) throw ArgError{std::string("napi call failed: ") + what};
}

// A Float32Array argument as a raw pointer into its ArrayBuffer (no copy).
inline float* f32(napi_env env, napi_value v, size_t* length, const char* name) {
  bool is_ta = false;
  check(env, napi_is_typedarray(env, v, &is_ta), "is_typedarray");
  if (!is_ta) throw ArgError{std::string(name) + ": expected a Float32Array"};
  napi_typedarray_type type;
  size_t len = 0;
  void* data = nullptr;
  napi_value ab;
  size_t off = 0;
  check(env, napi_get_typedarray_info(env, v, &type, &len, &data, &ab, &off), "typedarray_info");
  if (type != napi_float32_array) throw ArgError{std::string(name) + ": expected a Float32Array"};
  if (length) *length = len;
  return static_cast<float*>(data);
}

// Optional Float32Array (null or undefined gives nullptr).
inline float* f32_opt(napi_env env, napi_value v, size_t* length, const char* name) {
  napi_valuetype t;
  check(env, napi_typeof(env, v, &t), "typeof");
  if (t == napi_null || t == napi_undefined) {
    if (length) *length = 0;
    return nullptr;
  }
  return f32(env, v, length, name);
}

inline int32_t* i32(napi_env env, napi_value v, size_t* length, const char* name) {
  bool is_ta = false;
  check(env, napi_is_typedarray(env, v, &is_ta), "is_typedarray");
  if (!is_ta) throw ArgError{std::string(name) + ": expected an Int32Array"};
  napi_typedarray_type type;
  size_t len = 0;
  void* data = nullptr;
  napi_value ab;
  size_t off = 0;
  check(env, napi_get_typedarray_info(env, v, &type, &len, &data, &ab, &off), "typedarray_info");
  if (type != napi_int32_array) throw ArgError{std::string(name) + ": expected an Int32Array"};
  if (length) *length = len;
  return static_cast<int32_t*>(data);
}

// A Float32Array or Int32Array argument as its raw 32-bit words (no copy), and which it is.
inline uint32_t* words32(napi_env env, napi_value v, size_t* length, napi_typedarray_type* type, const char* name) {
  bool is_ta = false;
  check(env, napi_is_typedarray(env, v, &is_ta), "is_typedarray");
  if (!is_ta) throw ArgError{std::string(name) + ": expected a Float32Array or an Int32Array"};
  size_t len = 0;
  void* data = nullptr;
  napi_value ab;
  size_t off = 0;
  check(env, napi_get_typedarray_info(env, v, type, &len, &data, &ab, &off), "typedarray_info");
  if (*type != napi_float32_array && *type != napi_int32_array)
    throw ArgError{std::string(name) + ": expected a Float32Array or an Int32Array"};
  if (length) *length = len;
  return static_cast<uint32_t*>(data);
}

inline int64_t integer(napi_env env, napi_value v, const char* name) {
  int64_t out = 0;
  if (napi_get_value_int64(env, v, &out) != napi_ok) throw ArgError{std::string(name) + ": expected a number"};
  return out;
}

inline double number(napi_env env, napi_value v, const char* name) {
  double out = 0;
  if (napi_get_value_double(env, v, &out) != napi_ok) throw ArgError{std::string(name) + ": expected a number"};
  return out;
}

inline bool boolean(napi_env env, napi_value v, const char* name) {
  bool out = false;
  if (napi_get_value_bool(env, v, &out) != napi_ok) throw ArgError{std::string(name) + ": expected a boolean"};
  return out;
}

}  // namespace lets
