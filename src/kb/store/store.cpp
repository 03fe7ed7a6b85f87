#include "kb/store/store.hpp"

namespace qembed::kb {

const char* vector_type_name(VectorType type) {
  switch (type) {
    case VectorType::kF32:
      return "f32";
    case VectorType::kF16:
      return "f16";
    case VectorType::kInt8:
      return "int8";
  }
  return "f32";
}

std::optional<VectorType> parse_vector_type(std::string_view name) {
  if (name == "f32") return VectorType::kF32;
  if (name == "f16") return VectorType::kF16;
  if (name == "int8") return VectorType::kInt8;
  return std::nullopt;
}

const char* document_status_name(DocumentStatus status) {
  switch (status) {
    case DocumentStatus::kPending:
      return "pending";
    case DocumentStatus::kIndexed:
      return "indexed";
    case DocumentStatus::kFailed:
      return "failed";
  }
  return "pending";
}

std::optional<DocumentStatus> parse_document_status(std::string_view name) {
  if (name == "pending") return DocumentStatus::kPending;
  if (name == "indexed") return DocumentStatus::kIndexed;
  if (name == "failed") return DocumentStatus::kFailed;
  return std::nullopt;
}

}  // namespace qembed::kb
