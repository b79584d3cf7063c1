// Files compiled into the binary (generated at build time by cmake/embed_files.cmake).
#ifndef SFLOW_SCHEMAS_EMBEDDED_H_
#define SFLOW_SCHEMAS_EMBEDDED_H_

#include <cstddef>

namespace sflow {

struct EmbeddedFile {
  const char* path;  // relative to the package root, e.g. "schemas/tools/generate_image.schema.json"
  const char* text;
};

extern const EmbeddedFile kEmbeddedFiles[];
extern const size_t kEmbeddedFileCount;

}  // namespace sflow

#endif  // SFLOW_SCHEMAS_EMBEDDED_H_
