#include "api/tool_projects_models.h"

#include <cctype>
#include <cmath>
#include <map>

#include "api/model_families.h"

namespace sflow::tool_models {

namespace {

using Table = std::map<std::string, std::string, std::less<>>;

const char* const kGptImage2Aliases[] = {
    "chatgpt", "chatgpt-image", "chat-gpt", "chat-gpt-image", "openai", "openai-image", "open-ai", "open-ai-image",
    "gpt", "gpt-image", "gpt2", "gpt-2", "gpt2-image", "gpt-2-image", "gptimage2", "gpt-image2", "gpt-image-2.0",
    "gpt-image-2"};

Table WithGpt(Table t) {
  for (const char* a : kGptImage2Aliases) t.emplace(a, "gpt-image-2");
  for (auto [k, v] : std::initializer_list<std::pair<const char*, const char*>>{
           {"gpt-image-2.5-sunburst", "gpt-image-2.5-sunburst"}, {"gpt-image-2.5-flare", "gpt-image-2.5-flare"},
           {"gpt-image-2.5", "gpt-image-2.5-flare"}, {"gpt-image2.5", "gpt-image-2.5-flare"},
           {"sunburst", "gpt-image-2.5-sunburst"}, {"flare", "gpt-image-2.5-flare"}})
    t.emplace(k, v);
  return t;
}

const Table& ImageSelectors() {
  static const Table t = WithGpt({
      {"z-turbo", "z_image_turbo_bf16"}, {"krea-2-turbo", "krea2_turbo_fp8_scaled"},
      {"krea2-turbo", "krea2_turbo_fp8_scaled"}, {"z-image", "z_image_bf16"},
      {"chroma-v46-flash", "chroma-v.46-flash_fp8"}, {"chroma-detail", "chroma-v48-detail-svd_fp8"},
      {"chroma-hd", "chroma1-hd_fp8_scaled"}, {"chroma1-hd", "chroma1-hd_fp8_scaled"},
      {"dark-beast-z-image-turbo", "dark_beast_z_image_turbo_v9_bf16"},
      {"dark-beast-z-turbo", "dark_beast_z_image_turbo_v9_bf16"}, {"dark-beast-krea-2", "dark_beast_krea2_fp8"},
      {"dark-beast-krea2", "dark_beast_krea2_fp8"}, {"one-obsession-v22", "one_obsession_v22_fp16"},
      {"one-obsession", "one_obsession_v22_fp16"}, {"pony-v7", "coreml-cyberrealisticPony_v7"},
      {"qwen-2512", "qwen_image_2512_fp8"}, {"qwen-2512-lightning", "qwen_image_2512_fp8_lightning"},
      {"albedo-xl", "coreml-albedobaseXL_v31Large"}, {"animagine-xl", "coreml-animagineXL40_v4Opt"},
      {"anima-pencil-xl", "coreml-animaPencilXL_v500"}, {"art-universe-xl", "coreml-artUniverse_sdxlV60"},
      {"hyphoria-real", "coreml-hyphoriaRealIllu_v05"}, {"analog-madness-xl", "coreml-analogMadnessSDXL_xl2"},
      {"cyberrealistic-xl", "coreml-cyberrealisticXL_v60"}, {"real-dream-xl", "coreml-realDream_sdxlPony11"},
      {"faetastic-xl", "coreml-sdxlFaetastic_v24"}, {"zavychroma-xl", "coreml-zavychromaxl_v80"},
      {"pony-faetality", "coreml-ponyFaetality_v11"}, {"dreamshaper-xl", "coreml-DreamShaper-XL1-Alpha2"},
  });
  return t;
}

const Table& EditSelectors() {
  static const Table t = WithGpt({
      {"qwen-lightning", "qwen_image_edit_2511_fp8_lightning"}, {"qwen", "qwen_image_edit_2511_fp8"},
      {"krea-2-identity-edit", "krea2_identity_edit_v1_2"}, {"krea2-identity-edit", "krea2_identity_edit_v1_2"},
      {"krea-identity-edit", "krea2_identity_edit_v1_2"}, {"krea-2-identity-edit-lora", "krea2_identity_edit_v1_2"},
      {"krea-2-identity-edit-lora-v1-2", "krea2_identity_edit_v1_2"},
      {"dark-beast-krea-2-identity-edit", "dark_beast_krea2_identity_edit_v1_2"},
      {"dark-beast-krea2-identity-edit", "dark_beast_krea2_identity_edit_v1_2"},
      {"dark-beast-krea-2-identity-edit-lora", "dark_beast_krea2_identity_edit_v1_2"},
      {"dark-beast-krea-2-identity-edit-lora-v1-2", "dark_beast_krea2_identity_edit_v1_2"},
  });
  return t;
}

// The H3 r2v and Wan 3 rows are the same in both video tables.
Table WithShared(Table t) {
  for (auto [k, v] : std::initializer_list<std::pair<const char*, const char*>>{
           {"minimax-h3-r2v", "minimax-h3-ref2va-fp8_r2v"}, {"minimax-h3-r2v-turbo", "minimax-h3-ref2va-fp8_r2v_turbo"},
           {"minimax-h3-r2v-balanced", "minimax-h3-ref2va-fp8_r2v_balanced"},
           {"minimax-h3-r2v-2stage", "minimax-h3-ref2va-fp8_r2v_2stage"},
           {"minimax-h3-r2v-balanced-2stage", "minimax-h3-ref2va-fp8_r2v_balanced_2stage"},
           {"wan3", "wan3.0-video"}, {"wan3.0", "wan3.0-video"}, {"wan3-video", "wan3.0-video"}})
    t.emplace(k, v);
  return t;
}

const Table& TextVideoSelectors() {
  static const Table t = WithShared({
      {"ltx25", "ltx25-22b-int8_t2v_distilled"}, {"ltx23", kT2v}, {"wan22", "wan_v2.2-14b-fp8_t2v_lightx2v"},
      {"seedance2", "seedance-2-0"}, {"seedance2-mini", "seedance-2-0-mini"}, {"seedance2-fast", "seedance-2-0-mini"},
      {"seedance2-5", "seedance-2-5"}, {"minimax-h3", "minimax-h3-fl2va-fp8_t2v"},
      {"minimax-h3-t2v", "minimax-h3-fl2va-fp8_t2v"}, {"minimax-h3-turbo", "minimax-h3-fl2va-fp8_t2v_turbo"},
      {"minimax-h3-t2v-turbo", "minimax-h3-fl2va-fp8_t2v_turbo"},
      {"minimax-h3-fasth3-turbo", "minimax-h3-fastvideo-int8_t2v_turbo"},
      {"minimax-h3-fasth3-t2v-turbo", "minimax-h3-fastvideo-int8_t2v_turbo"},
      {"minimax-h3-fasth3-turbo-2stage", "minimax-h3-fastvideo-int8_t2v_turbo_2stage"},
      {"minimax-h3-fasth3-t2v-turbo-2stage", "minimax-h3-fastvideo-int8_t2v_turbo_2stage"},
      {"minimax-h3-balanced", "minimax-h3-fl2va-fp8_t2v_balanced"},
      {"minimax-h3-t2v-balanced", "minimax-h3-fl2va-fp8_t2v_balanced"},
      {"happyhorse", "happyhorse-1.1-t2v"}, {"happyhorse1.1", "happyhorse-1.1-t2v"},
  });
  return t;
}

const Table& ImageVideoSelectors() {
  static const Table t = WithShared({
      {"ltx25", "ltx25-22b-int8_i2v_distilled"}, {"ltx23", kI2v}, {"wan22", "wan_v2.2-14b-fp8_i2v_lightx2v"},
      {"seedance2", "seedance-2-0"}, {"seedance2-mini", "seedance-2-0-mini"}, {"seedance2-fast", "seedance-2-0-mini"},
      {"seedance2-5", "seedance-2-5"}, {"minimax-h3", "minimax-h3-fl2va-fp8_i2v"},
      {"minimax-h3-i2v", "minimax-h3-fl2va-fp8_i2v"}, {"minimax-h3-flf2v", kMinimaxH3Flf2v},
      {"minimax-h3-turbo", "minimax-h3-fl2va-fp8_i2v_turbo"}, {"minimax-h3-i2v-turbo", "minimax-h3-fl2va-fp8_i2v_turbo"},
      {"minimax-h3-flf2v-turbo", "minimax-h3-fl2va-fp8_flf2v_turbo"},
      {"minimax-h3-fasth3-turbo", "minimax-h3-fastvideo-int8_i2v_turbo"},
      {"minimax-h3-fasth3-i2v-turbo", "minimax-h3-fastvideo-int8_i2v_turbo"},
      {"minimax-h3-fasth3-flf2v-turbo", "minimax-h3-fastvideo-int8_flf2v_turbo"},
      {"minimax-h3-fasth3-turbo-2stage", "minimax-h3-fastvideo-int8_i2v_turbo_2stage"},
      {"minimax-h3-fasth3-i2v-turbo-2stage", "minimax-h3-fastvideo-int8_i2v_turbo_2stage"},
      {"minimax-h3-fasth3-flf2v-turbo-2stage", "minimax-h3-fastvideo-int8_flf2v_turbo_2stage"},
      {"minimax-h3-balanced", "minimax-h3-fl2va-fp8_i2v_balanced"},
      {"minimax-h3-i2v-balanced", "minimax-h3-fl2va-fp8_i2v_balanced"},
      {"minimax-h3-flf2v-balanced", "minimax-h3-fl2va-fp8_flf2v_balanced"},
      {"happyhorse", "happyhorse-1.1-i2v"}, {"happyhorse1.1", "happyhorse-1.1-i2v"},
      {"happyhorse-1.1-i2v", "happyhorse-1.1-i2v"}, {"happyhorse-1.1-r2v", kHappyhorseR2v},
  });
  return t;
}

const Table& VideoToVideoSelectors() {
  static const Table t = {{"ltx25", "ltx25-22b-int8_v2v_distilled"}, {"ltx25-v2v", "ltx25-22b-int8_v2v_distilled"},
                          {"ltx23", kV2v}, {"ltx23-v2v", kV2v}, {"seedance2", kSeedanceV2v}, {"seedance2-5", "seedance-2-5"}};
  return t;
}

const Table& SoundToVideoSelectors() {
  static const Table t = {
      {"wan-s2v", kS2v}, {"seedance2-mini", "seedance-2-0"}, {"seedance2-fast", "seedance-2-0"},
      {"seedance2-5", "seedance-2-5"}, {"seedance2", "seedance-2-0"},
      {"ltx25-ia2v", "ltx25-22b-int8_ia2v_distilled"}, {"ltx25-a2v", "ltx25-22b-int8_a2v_distilled"},
      {"ltx23-ia2v", kIa2v}, {"ltx23-a2v", kA2v},
      {"minimax-h3-fasth3-ia2v-turbo", "minimax-h3-fastvideo-int8_ia2v_turbo"},
      {"minimax-h3-fasth3-flfa2v-turbo", kMinimaxH3FastH3TurboFlfa2v},
      {"minimax-h3-fasth3-a2v-turbo", "minimax-h3-fastvideo-int8_a2v_turbo"},
      {"minimax-h3-fasth3-ia2v-turbo-2stage", "minimax-h3-fastvideo-int8_ia2v_turbo_2stage"},
      {"minimax-h3-fasth3-flfa2v-turbo-2stage", "minimax-h3-fastvideo-int8_flfa2v_turbo_2stage"},
      {"minimax-h3-fasth3-a2v-turbo-2stage", "minimax-h3-fastvideo-int8_a2v_turbo_2stage"},
      {"wan3", "wan3.0-video"}, {"wan3.0", "wan3.0-video"}, {"wan3-video", "wan3.0-video"},
  };
  return t;
}

// normalizeSelectorKey: trimmed, lower case, runs of '_' and white space as one '-'.
std::string NormalizeKey(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  std::string out;
  for (size_t i = b; i < e; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '_' || std::isspace(c)) {
      if (out.empty() || out.back() != '\x01') out += '\x01';
    } else {
      out += static_cast<char>(std::tolower(c));
    }
  }
  for (char& c : out)
    if (c == '\x01') c = '-';
  return out;
}

}  // namespace

std::string ResolveSelector(std::string_view tool, const std::string& selector, bool reference_images) {
  bool blank = true;
  for (char c : selector) blank = blank && std::isspace(static_cast<unsigned char>(c));
  if (blank) return "";
  const Table* t = tool == "generate_image"   ? &ImageSelectors()
                   : tool == "edit_image"     ? &EditSelectors()
                   : tool == "generate_video" ? (reference_images ? &ImageVideoSelectors() : &TextVideoSelectors())
                   : tool == "sound_to_video" ? &SoundToVideoSelectors()
                   : tool == "video_to_video" ? &VideoToVideoSelectors()
                                              : nullptr;
  if (!t) return selector;
  auto it = t->find(selector);
  if (it == t->end()) it = t->find(NormalizeKey(selector));
  std::string model = it == t->end() ? selector : it->second;
  if (tool == "video_to_video" && !ServesAny(model, {"v2v"})) return "";
  return model;
}

std::vector<std::string> CompatibleVideoWorkflows(std::string_view model) {
  if (IsWan3Model(model)) return {"t2v", "i2v", "flf2v", "r2v", "a2v", "ia2v"};
  if (model == "seedance-2-5") return {"t2v", "i2v", "flf2v", "r2v", "ia2v", "v2v"};
  if (model == "seedance-2-0" || model == "seedance-2-0-mini" || model == "seedance-2-0-fast")
    return {"t2v", "i2v", "ia2v", "v2v"};
  std::string w = VideoWorkflowType(model);
  if (w.empty()) return {};
  return {w};
}

bool ServesAny(std::string_view model, const std::vector<std::string>& workflows) {
  for (const std::string& w : CompatibleVideoWorkflows(model))
    for (const std::string& x : workflows)
      if (w == x) return true;
  return false;
}

VideoDefaults VideoDefaultsFor(std::string_view model) {
  const std::string w = VideoWorkflowType(model);
  if (IsWan3Model(model)) return {1920, 1080, 30};
  if (IsMinimaxH3Model(model)) return model == kMinimaxH3TurboR2v ? VideoDefaults{960, 544, 24} : VideoDefaults{1344, 768, 24};
  if (w == "s2v" || w == "animate-move" || w == "animate-replace") return {832, 480, 16};
  if (model == "seedance-2-0-mini" || model == "seedance-2-0-fast") return {1280, 720, 24};
  if (IsSeedanceModel(model) || IsHappyhorseModel(model)) return {1920, 1080, 24};
  if (IsLtx2Model(model)) return {1920, 1088, 24};
  return {848, 480, 16};
}

bool IsEditImageModel(std::string_view model) {
  return IsGptImageModel(model) || model == "qwen_image_edit_2511_fp8" || model == "qwen_image_edit_2511_fp8_lightning" ||
         model == "krea2_identity_edit_v1_2" || model == "dark_beast_krea2_identity_edit_v1_2";
}

int MinimaxH3FramesForAudioDuration(double seconds) {
  const double needed = std::ceil(seconds * kH3Fps - 1e-6);
  const double steps = std::max(0.0, std::ceil((needed - kH3BaseFrames) / kH3FrameStep));
  return static_cast<int>(std::min<double>(kH3MaxFrames, kH3BaseFrames + steps * kH3FrameStep));
}

std::string MusicModelFor(const std::string& selector) {
  if (selector.empty() || selector == "turbo") return kDefaultMusicModel;
  if (selector == "sft") return "ace_step_1.5_xl_sft";
  if (selector == "music3") return "minimax_music3";
  return "";
}

}  // namespace sflow::tool_models
