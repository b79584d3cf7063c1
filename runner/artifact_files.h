// Files for downloaded artifacts (docs/architecture.md, crash safety): names made by the runner, never taken
// from the server; written durably and never over an existing file.
#ifndef SFLOW_RUNNER_ARTIFACT_FILES_H_
#define SFLOW_RUNNER_ARTIFACT_FILES_H_

#include <string>
#include <string_view>

#include "api/http_transport.h"
#include "engine/plan.h"
#include "engine/status.h"

namespace sflow {

// A server-given id as one path component: [A-Za-z0-9_-] kept, anything else (".", "/") is "_".
std::string SafeFileName(const std::string& id);

// The extension for media, from its first bytes as engine/media.h's SniffMedia reads them (png,
// jpg, gif, webp, wav, mp3, flac, ogg, mp4, m4a, mov, webm), else from `kind`.
std::string ExtensionFor(MediaKind kind, std::string_view bytes);

// mkdir -p with mode 0755.
Status MakeDirectories(const std::string& path);

// Makes `dir` (mkdir -p) and checks this user can create files in it: `run` calls it on the
// --out root before anything is sent, so that a run is not paid for whose results have nowhere
// to go. kIOError (exit 6) saying why, else OK.
Status CheckWritableDirectory(const std::string& dir);

// Makes `dir` (a step's folder inside an out dir, mkdir -p) and checks it is one the runner may
// write into: a real directory (not a symbolic link), owned by this user and not writable by
// others. Anything else could let another local user steer the runner's files (a link planted
// under a shared --out): kSecurity (exit 7), naming the folder and what to do.
Status PrepareStepDirectory(const std::string& dir);

Result<std::string> ReadWholeFile(const std::string& path);

// Who makes a new name in a directory durable: the call itself (fsync of the directory before it
// returns), or its caller, which publishes several names and syncs the directory once after the
// last (before anything records them as done).
enum class SyncDir { kNow, kByCaller };

// Writes `bytes` to `final_path` (inside `dir`) durably without ever replacing a file: an unnamed
// file (O_TMPFILE; a named "<final_path>.part-<pid>" where the filesystem has none), fsync,
// link to the final name (which fails on an existing name), fsync `dir` (per `sync`). A name
// that exists with the same bytes (a crash after the link, before the store knew) is success;
// with other bytes it is kConflict and the file is left alone.
Status WriteNoReplace(const std::string& dir, const std::string& final_path, std::string_view bytes,
                      SyncDir sync = SyncDir::kNow);

// Copies the file at `src` to a new `final_path` (inside `dir`) as WriteNoReplace writes bytes,
// a block at a time (never the whole file in memory), only when what was read has the SHA-256
// `expected_sha256`: otherwise nothing is named and kNotFound says the file changed. A name that
// exists with the same bytes as `src` is success; with others, kConflict.
Status CopyNoReplace(const std::string& dir, const std::string& src, const std::string& final_path,
                     const std::string& expected_sha256, SyncDir sync = SyncDir::kNow);

// What DigestFile() reads of a file, a block at a time (never the whole file in memory).
struct FileDigest {
  int64_t size = 0;
  std::string sha256;  // 64 lowercase hex digits
  std::string head;    // the first bytes (up to 64), for SniffMedia and ExtensionFor
};
Result<FileDigest> DigestFile(const std::string& path);

// The part file a download streams into: a fixed name made by the runner for one artifact of one
// run, `<dir>/.<index>.<run>.part` (the final extension is only known from the first bytes), so
// that a download cut short, even by SIGKILL, is resumed from its bytes by the next attempt or
// process of the same run, and never from bytes another run (into the same --out) left.
std::string PartPathFor(const std::string& dir, const std::string& run_id, int64_t index);

// What one FetchPart() call found out.
struct PartFetch {
  int status = 0;          // the HTTP status of the last answer
  bool complete = false;   // the part file holds the whole object
  int64_t size = 0;        // bytes in the part file
  int64_t total = -1;      // the object's size as the server gave it (Content-Length or the
                           // Content-Range total), -1 when it did not
};

// One attempt at bringing `part_path` up to the whole object at `url` (a presigned media URL:
// no API key is sent). The part is opened without following a symbolic link and must be a
// regular file of this user (kSecurity otherwise: it was put there by someone else). The body is
// streamed into the file chunk by chunk (no fsync here):
//  * a part file of S > 0 bytes is resumed with `Range: bytes=S-`: a 206 whose Content-Range
//    starts at S is appended; a 416 with `Content-Range: bytes */S` means the part is complete;
//    a 200 (the server ignored the range) replaces the part with the full body;
//  * a part that the answers show to be wrong (a 206 starting elsewhere, a 416 naming another
//    total, more bytes than the total) is truncated and fetched once more from byte 0 in the
//    same call;
//  * a part that is linked to a final name already (PublishPart ran, the store never heard) is
//    complete without a request, and never written to.
// An answer with another status (a 404, a 503) is returned with complete == false and the part
// left as it was. kUnavailable when the transport failed or the body ended before its total (the
// bytes received stay in the part, for the next attempt's Range); kIOError for the local file;
// kCancelled when `cancel` was cancelled (the bytes received stay, as for kUnavailable).
Result<PartFetch> FetchPart(HttpTransport& transport, const std::string& url, const std::string& part_path,
                            StreamCancel* cancel = nullptr);

// Makes the complete part file `part_path` the file `final_path` (both inside `dir`) durably
// without ever replacing a file: fsync the part, link() it to the final name, fsync `dir` (per
// `sync`). A final name that exists with the same bytes (a crash after the link, before the store
// knew) is success; with other bytes it is kConflict and the file is left alone. The part file is
// kept: the caller unlinks it once the store records the artifact.
Status PublishPart(const std::string& dir, const std::string& part_path, const std::string& final_path,
                   SyncDir sync = SyncDir::kNow);

// fsync of a directory (after names were linked into it with SyncDir::kByCaller).
Status SyncDirectory(const std::string& dir);

}  // namespace sflow

#endif  // SFLOW_RUNNER_ARTIFACT_FILES_H_
