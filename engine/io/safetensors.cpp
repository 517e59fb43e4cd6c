// safetensors writer and validating reader, on the shared JSON and file helpers.
#include "engine/io/safetensors.h"
#include <algorithm>
#include <limits>
#include <vector>
#include "engine/io/file_io.h"
#include "engine/io/json.h"

namespace asyndgan {
namespace {

// The reference implementation refuses larger headers; so do we, before allocating one.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

const char* st_dtype_name(DType dt) {
  switch (dt) {
    case DType::f32: return "F32";
    case DType::f64: return "F64";
    case DType::bf16: return "BF16";
    case DType::f16: return "F16";
    case DType::u8: return "U8";
    case DType::i32: return "I32";
    case DType::i64: return "I64";
  }
  return "?";
}

bool st_dtype_from_name(const std::string& name, DType& out) {
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16, DType::u8, DType::i32, DType::i64})
    if (name == st_dtype_name(dt)) {
      out = dt;
      return true;
    }
  return false;
}

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
};

// nlohmann reads a non-negative integer as unsigned; parse_json keeps it within i64.
bool non_negative_integer(const Json& v) { return v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0); }

Entry parse_entry(const FileReader& in, const std::string& name, const Json& info) {
  auto bad = [&](const std::string& what) { in.fail(msg("tensor '", name, "': ", what)); };
  if (!info.is_object()) bad(msg("header entry is a JSON ", info.type_name(), ", expected an object"));
  for (const auto& field : info.items())
    if (field.key() != "dtype" && field.key() != "shape" && field.key() != "data_offsets")
      bad(msg("unknown header field \"", field.key(), "\""));
  if (!info.contains("dtype") || !info.contains("shape") || !info.contains("data_offsets"))
    bad("header entry needs \"dtype\", \"shape\" and \"data_offsets\"");
  const Json& dtype = info.at("dtype");
  const Json& shape = info.at("shape");
  const Json& offsets = info.at("data_offsets");
  Entry e{name, DType::f32, {}, 0, 0};
  if (!dtype.is_string() || !st_dtype_from_name(dtype.get<std::string>(), e.dtype))
    bad(msg("unsupported dtype ", dtype.dump(), "; this build reads F32, F64, BF16, F16, U8, I32 and I64"));
  if (!shape.is_array()) bad("\"shape\" must be an array of non-negative integers");
  uint64_t numel = 1;
  for (const Json& d : shape) {
    if (!non_negative_integer(d)) bad(msg("\"shape\" must be an array of non-negative integers, got ", shape.dump()));
    const uint64_t s = d.get<uint64_t>();
    if (s != 0 && numel > std::numeric_limits<uint64_t>::max() / 8 / s) bad(msg("shape ", shape.dump(), " is impossibly large"));
    numel *= s;
    e.shape.push_back(static_cast<int64_t>(s));
  }
  if (!offsets.is_array() || offsets.size() != 2 || !non_negative_integer(offsets[0]) || !non_negative_integer(offsets[1]))
    bad(msg("\"data_offsets\" must be [begin, end] with non-negative integers, got ", offsets.dump()));
  e.begin = offsets[0].get<uint64_t>();
  e.end = offsets[1].get<uint64_t>();
  if (e.end < e.begin) bad(msg("data_offsets ", offsets.dump(), " end before they begin"));
  if (e.end - e.begin != numel * dtype_size(e.dtype))
    bad(msg("data_offsets ", offsets.dump(), " span ", e.end - e.begin, " bytes but ", st_dtype_name(e.dtype),
            shape_str(e.shape), " needs ", numel * dtype_size(e.dtype)));
  return e;
}

}  // namespace

void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::vector<Tensor> host;
  Json header = Json::object();
  if (!metadata.empty()) header["__metadata__"] = Json(metadata);
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__") throw ValueError(msg("save_safetensors '", path, "': '__metadata__' is reserved"));
    if (!t.defined()) throw ValueError(msg("save_safetensors '", path, "': tensor '", name, "' is undefined"));
    host.push_back(t.detach().to(Device::cpu()).contiguous());
    const Tensor& h = host.back();
    Json& info = header[name];
    info["dtype"] = st_dtype_name(h.dtype());
    info["shape"] = Json(h.shape());
    info["data_offsets"] = Json::array({offset, offset + h.nbytes()});
    offset += h.nbytes();
  }
  std::string text = dump_json(header);
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data section 8-byte aligned
  AtomicFileWriter out(path);
  const uint64_t n = text.size();
  out.write(&n, sizeof n);
  out.write(text.data(), text.size());
  for (const Tensor& h : host) out.write(h.raw_data(), h.nbytes());
  out.commit();
}

std::map<std::string, Tensor> load_safetensors(const std::string& path, std::map<std::string, std::string>* metadata) {
  FileReader in(path);
  const uint64_t header_len = in.read_le<uint64_t>("the header length");
  if (header_len > kMaxHeaderBytes)
    in.fail(msg("header length ", header_len, " exceeds the ", kMaxHeaderBytes, "-byte limit; not a safetensors file or corrupt"));
  in.require(header_len, "the JSON header");
  std::string text(static_cast<size_t>(header_len), '\0');
  in.read(text.data(), header_len, "the JSON header");
  if (text.empty() || text[0] != '{') in.fail("the header does not start with '{'; not a safetensors file");
  const Json header = parse_json(text, path + ": header");
  if (!header.is_object()) in.fail("the header is not a JSON object");

  std::vector<Entry> entries;
  for (const auto& item : header.items()) {
    if (item.key() == "__metadata__") {
      if (!item.value().is_object()) in.fail("\"__metadata__\" must be an object of strings");
      for (const auto& field : item.value().items()) {
        if (!field.value().is_string())
          in.fail(msg("\"__metadata__\" value for \"", field.key(), "\" is a ", field.value().type_name(), ", not a string"));
        if (metadata) (*metadata)[field.key()] = field.value().get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(in, item.key(), item.value()));
  }

  // The data section must be covered exactly: tensors back to back in offset order, no overlap, no gap.
  const uint64_t data_start = in.position();
  const uint64_t data_size = in.remaining();
  std::vector<const Entry*> order;
  for (const Entry& e : entries) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t expect = 0;
  for (const Entry* e : order) {
    if (e->begin < expect)
      in.fail(msg("tensor '", e->name, "': data_offsets [", e->begin, ", ", e->end, "] overlap the previous tensor (which ends at ", expect, ")"));
    if (e->begin > expect)
      in.fail(msg("tensor '", e->name, "': data_offsets [", e->begin, ", ", e->end, "] leave a gap after byte ", expect,
                  " of the data section"));
    if (e->end > data_size)
      in.fail(msg("tensor '", e->name, "': data_offsets [", e->begin, ", ", e->end, "] run past the ", data_size,
                  "-byte data section; the file is truncated or corrupt"));
    expect = e->end;
  }
  if (expect != data_size)
    in.fail(msg("the data section has ", data_size - expect, " bytes after the last tensor; the file is corrupt"));

  std::map<std::string, Tensor> out;
  for (const Entry& e : entries) {
    Tensor t = Tensor::empty(e.shape, e.dtype);
    in.seek(data_start + e.begin);
    in.read(t.raw_data(), e.end - e.begin, msg("tensor '", e.name, "' data"));
    out.emplace(e.name, std::move(t));
  }
  return out;
}

void save_module_safetensors(const std::string& path, const nn::Module& m) {
  std::map<std::string, Tensor> tensors;
  for (const auto& [name, t] : m.state_dict()) tensors.emplace(name, t);
  save_safetensors(path, tensors);
}

void load_module_safetensors(const std::string& path, nn::Module& m, bool strict) {
  auto tensors = load_safetensors(path);
  try {
    m.load_state_dict(tensors, strict);
  } catch (const ShapeError& e) {
    throw ShapeError(msg(path, ": ", e.what()));
  } catch (const ValueError& e) {
    throw ValueError(msg(path, ": ", e.what()));
  }
}

}  // namespace asyndgan
