#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error.hpp"
#include "formats/safetensors.hpp"

namespace qembed {
namespace {

namespace fs = std::filesystem;

nlohmann::json read_json_file(const std::string& path) {
  MappedFile file(path);
  try {
    const char* p = reinterpret_cast<const char*>(file.data());
    return nlohmann::json::parse(p, p + file.size());
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not valid JSON (" + e.what() + ")");
  }
}

// Shard names come from a file we did not write: keep them inside the folder.
bool is_plain_file_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\\') == std::string::npos;
}

}  // namespace

HfCheckpoint::HfCheckpoint() = default;
HfCheckpoint::~HfCheckpoint() = default;

std::unique_ptr<HfCheckpoint> HfCheckpoint::open(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(dir + ": not a directory (expected a HuggingFace model folder)");
  auto ck = std::unique_ptr<HfCheckpoint>(new HfCheckpoint());
  ck->dir_ = dir;
  const std::string config_path = (fs::path(dir) / "config.json").string();
  if (!fs::exists(config_path, ec))
    throw Error(config_path + ": missing (a HuggingFace model folder needs config.json)");
  ck->config_ = std::make_unique<nlohmann::json>(read_json_file(config_path));
  if (!ck->config_->is_object()) throw Error(config_path + ": not a JSON object");

  const std::string index_path = (fs::path(dir) / "model.safetensors.index.json").string();
  const std::string single_path = (fs::path(dir) / "model.safetensors").string();
  if (fs::exists(index_path, ec)) {
    nlohmann::json index = read_json_file(index_path);
    auto map = index.is_object() ? index.find("weight_map") : index.end();
    if (!index.is_object() || map == index.end() || !map->is_object()) {
      throw Error(index_path + ": missing object 'weight_map'");
    }
    std::vector<std::string> shard_names;  // first-seen order, for reproducible iteration
    std::set<std::string> seen;
    for (const auto& [tensor, file] : map->items()) {
      if (!file.is_string() || !is_plain_file_name(file.get<std::string>())) {
        throw Error(index_path + ": weight_map entry '" + tensor + "' is not a file name in this folder");
      }
      if (seen.insert(file.get<std::string>()).second) shard_names.push_back(file.get<std::string>());
    }
    if (shard_names.empty()) throw Error(index_path + ": weight_map is empty");
    for (const auto& name : shard_names) ck->add_shard(name);
    for (const auto& [tensor, file] : map->items()) {
      auto it = ck->by_name_.find(tensor);
      if (it == ck->by_name_.end()) {
        throw Error(index_path + ": tensor '" + tensor + "' is listed in weight_map but missing from " +
                    file.get<std::string>());
      }
    }
  } else if (fs::exists(single_path, ec)) {
    ck->add_shard("model.safetensors");
  } else {
    throw Error(dir + ": no model.safetensors or model.safetensors.index.json");
  }
  return ck;
}

void HfCheckpoint::add_shard(const std::string& file_name) {
  const std::string path = (fs::path(dir_) / file_name).string();
  shards_.push_back(SafetensorsFile::open(path));
  for (const auto& t : shards_.back()->tensors()) {
    if (!by_name_.emplace(t.name, &t).second)
      throw Error(path + ": tensor '" + t.name + "' also appears in another shard");
  }
}

const nlohmann::json& HfCheckpoint::config() const { return *config_; }

const SafetensorsTensor* HfCheckpoint::find_tensor(std::string_view name) const {
  static constexpr std::string_view kPrefix = "model.";
  auto lookup = [&](const std::string& n) -> const SafetensorsTensor* {
    auto it = by_name_.find(n);
    return it == by_name_.end() ? nullptr : it->second;
  };
  if (auto* t = lookup(std::string(name))) return t;
  if (auto* t = lookup(std::string(kPrefix) + std::string(name))) return t;
  if (name.substr(0, kPrefix.size()) == kPrefix) return lookup(std::string(name.substr(kPrefix.size())));
  return nullptr;
}

std::vector<const SafetensorsTensor*> HfCheckpoint::all_tensors() const {
  std::vector<const SafetensorsTensor*> out;
  for (const auto& s : shards_) {
    for (const auto& t : s->tensors()) out.push_back(&t);
  }
  return out;
}

std::string HfCheckpoint::tokenizer_json_path() const { return (fs::path(dir_) / "tokenizer.json").string(); }

uint64_t HfCheckpoint::total_bytes() const {
  uint64_t n = 0;
  for (const auto& s : shards_) n += s->file_size();
  return n;
}

size_t HfCheckpoint::n_tensors() const { return by_name_.size(); }

}  // namespace qembed
