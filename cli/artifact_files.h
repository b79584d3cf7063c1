// Files for downloaded artifacts (design.md section 6): names made by the runner, never taken
// from the server; written durably and never over an existing file.
#ifndef SFLOW_CLI_ARTIFACT_FILES_H_
#define SFLOW_CLI_ARTIFACT_FILES_H_

#include <string>
#include <string_view>

#include "engine/plan.h"
#include "engine/status.h"

namespace sflow {

// A server-given id as one path component: [A-Za-z0-9_-] kept, anything else (".", "/") is "_".
std::string SafeFileName(const std::string& id);

// The extension for media, from its first bytes (PNG, JPEG, WAV, MP3, MP4), else from `kind`.
std::string ExtensionFor(MediaKind kind, std::string_view bytes);

// mkdir -p with mode 0755.
Status MakeDirectories(const std::string& path);

Result<std::string> ReadWholeFile(const std::string& path);

// Writes `bytes` to `final_path` (inside `dir`) durably without ever replacing a file: temp file,
// fsync, link() (which fails on an existing name), unlink the temp file, fsync `dir`. A name that
// exists with the same bytes (a crash after the link, before the store knew) is success; with
// other bytes it is kConflict and the file is left alone.
Status WriteNoReplace(const std::string& dir, const std::string& final_path, std::string_view bytes);

}  // namespace sflow

#endif  // SFLOW_CLI_ARTIFACT_FILES_H_
