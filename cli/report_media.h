// The files of a report (cli/html_report.h): how a downloaded artifact is put in the page. Pure
// functions of bytes and paths, each safe on hostile input (a file replaced since its download,
// a crafted MP4).
#ifndef SFLOW_CLI_REPORT_MEDIA_H_
#define SFLOW_CLI_REPORT_MEDIA_H_

#include <optional>
#include <string>
#include <string_view>

namespace sflow {

// The image type of `bytes` by its signature ("image/png", "image/jpeg", "image/webp",
// "image/gif"); "" when it is none of them (it is then never inlined).
std::string ImageMime(std::string_view bytes);

// data:MIME;base64,...
std::string DataUri(const std::string& mime, std::string_view bytes);

// `file` as a URL relative to the folder `from_dir` (both absolute, normalised), each path
// segment percent-encoded (all but A-Z a-z 0-9 - . _ ~), so that no name can end the attribute,
// start a scheme or become a query.
std::string RelativeUrl(const std::string& from_dir, const std::string& file);

// The first frame of a Motion-JPEG MP4 (what the sandbox makes): the first sample of its first
// track whose sample entry is JPEG ('jpeg', 'mjpa', 'mjpb', or 'mp4v' whose sample is a JPEG),
// found through the boxes moov/trak/mdia/minf/stbl (stsd, stsz, stco or co64). nullopt for any
// other video (H.264 shows its own first frame in a browser) and for anything malformed.
std::optional<std::string> Mp4JpegFrame(std::string_view mp4);

}  // namespace sflow

#endif  // SFLOW_CLI_REPORT_MEDIA_H_
