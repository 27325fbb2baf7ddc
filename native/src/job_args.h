#pragma once
// Reading the addon's job objects: one integer property, checked against its range.
#include <napi.h>

// True, with `value` set, when `object[name]` is an integer number in [min, max].
inline bool IntProperty(const Napi::Object& object, const char* name, int min, int max, int& value) {
  Napi::Value v = object.Get(name);
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max) || d != static_cast<double>(static_cast<int>(d))) return false;
  value = static_cast<int>(d);
  return true;
}
