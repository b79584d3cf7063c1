#include "sandbox/media/scene.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "sandbox/media/split_mix.h"

namespace sflow {
namespace {

// Coordinates in the scene are in units of 1/1024 of the picture's width or height.
constexpr int kUnit = 1024;

struct Rgb {
  int r, g, b;
};

// Hue 0..359, saturation and value 0..255 -> RGB, integers only.
Rgb FromHsv(int hue, int sat, int val) {
  int region = hue / 60, rem = (hue % 60) * 255 / 60;
  int p = val * (255 - sat) / 255;
  int q = val * (255 - sat * rem / 255) / 255;
  int t = val * (255 - sat * (255 - rem) / 255) / 255;
  switch (region) {
    case 0: return {val, t, p};
    case 1: return {q, val, p};
    case 2: return {p, val, t};
    case 3: return {p, q, val};
    case 4: return {t, p, val};
    default: return {val, p, q};
  }
}

enum class ShapeKind { kDisc, kRing, kRect };

struct Shape {
  ShapeKind kind;
  int x, y;    // centre at frame 0, 0..kUnit
  int vx, vy;  // units per second
  int size;    // radius or half-width, in units of the shorter side
  int aspect;  // rectangles: half-height = size * aspect / 8
  Rgb colour;
  int alpha;  // 0..256
};

struct SceneSpec {
  Rgb from, to;  // gradient colours
  int dx, dy;    // gradient direction
  std::vector<Shape> shapes;
};

SceneSpec MakeSpec(uint64_t seed) {
  SplitMix64 rng(seed);
  SceneSpec s;
  int hue = rng.Uniform(0, 359);
  s.from = FromHsv(hue, rng.Uniform(120, 230), rng.Uniform(40, 110));
  s.to = FromHsv((hue + rng.Uniform(90, 270)) % 360, rng.Uniform(90, 200), rng.Uniform(170, 245));
  do {
    s.dx = rng.Uniform(-8, 8);
    s.dy = rng.Uniform(-8, 8);
  } while (s.dx == 0 && s.dy == 0);
  int count = rng.Uniform(3, 6);
  for (int i = 0; i < count; ++i) {
    Shape sh;
    sh.kind = static_cast<ShapeKind>(rng.Uniform(0, 2));
    sh.x = rng.Uniform(100, kUnit - 100);
    sh.y = rng.Uniform(100, kUnit - 100);
    sh.vx = rng.Uniform(-500, 500);
    sh.vy = rng.Uniform(-500, 500);
    sh.size = rng.Uniform(60, 220);
    sh.aspect = rng.Uniform(3, 8);
    sh.colour = FromHsv(rng.Uniform(0, 359), rng.Uniform(150, 255), rng.Uniform(200, 255));
    sh.alpha = rng.Uniform(170, 256);
    s.shapes.push_back(sh);
  }
  return s;
}

// Where a coordinate starting at `start` moving at `speed` units/s is after frame/fps seconds,
// bouncing between 0 and kUnit (a triangle wave of period 2 * kUnit).
int Bounce(int start, int speed, int frame, int fps) {
  int64_t p = start + int64_t{speed} * frame / fps;
  p %= 2 * kUnit;
  if (p < 0) p += 2 * kUnit;
  return static_cast<int>(p <= kUnit ? p : 2 * kUnit - p);
}

void PaintGradient(const SceneSpec& s, RgbImage* img) {
  // t = projection of the normalised position on (dx, dy), mapped to 0..kUnit over the picture.
  const int64_t lo = std::min(0, s.dx * kUnit) + std::min(0, s.dy * kUnit);
  const int64_t hi = std::max(0, s.dx * kUnit) + std::max(0, s.dy * kUnit);
  const int wd = std::max(img->width - 1, 1), hd = std::max(img->height - 1, 1);
  for (int y = 0; y < img->height; ++y) {
    int64_t py = int64_t{s.dy} * y * kUnit / hd;
    for (int x = 0; x < img->width; ++x) {
      int64_t t = (int64_t{s.dx} * x * kUnit / wd + py - lo) * kUnit / (hi - lo);
      uint8_t* p = img->At(x, y);
      p[0] = static_cast<uint8_t>(s.from.r + (s.to.r - s.from.r) * t / kUnit);
      p[1] = static_cast<uint8_t>(s.from.g + (s.to.g - s.from.g) * t / kUnit);
      p[2] = static_cast<uint8_t>(s.from.b + (s.to.b - s.from.b) * t / kUnit);
    }
  }
}

bool Inside(const Shape& sh, int64_t dx, int64_t dy, int64_t r) {
  switch (sh.kind) {
    case ShapeKind::kDisc: return dx * dx + dy * dy <= r * r;
    case ShapeKind::kRing: {
      int64_t d2 = dx * dx + dy * dy, inner = r * 6 / 10;
      return d2 <= r * r && d2 > inner * inner;
    }
    case ShapeKind::kRect: return std::abs(dx) <= r && std::abs(dy) <= r * sh.aspect / 8;
  }
  return false;
}

void PaintShape(const Shape& sh, int frame, int fps, RgbImage* img) {
  const int cx = Bounce(sh.x, sh.vx, frame, fps) * (img->width - 1) / kUnit;
  const int cy = Bounce(sh.y, sh.vy, frame, fps) * (img->height - 1) / kUnit;
  const int r = std::max(1, sh.size * std::min(img->width, img->height) / kUnit);
  const int x0 = std::max(0, cx - r), x1 = std::min(img->width - 1, cx + r);
  const int y0 = std::max(0, cy - r), y1 = std::min(img->height - 1, cy + r);
  const int a = sh.alpha, rest = 256 - sh.alpha;
  for (int y = y0; y <= y1; ++y) {
    for (int x = x0; x <= x1; ++x) {
      if (!Inside(sh, x - cx, y - cy, r)) continue;
      uint8_t* p = img->At(x, y);
      p[0] = static_cast<uint8_t>((sh.colour.r * a + p[0] * rest) >> 8);
      p[1] = static_cast<uint8_t>((sh.colour.g * a + p[1] * rest) >> 8);
      p[2] = static_cast<uint8_t>((sh.colour.b * a + p[2] * rest) >> 8);
    }
  }
}

}  // namespace

RgbImage RenderScene(uint64_t seed, int width, int height, int frame, int fps) {
  RgbImage img(std::max(width, 1), std::max(height, 1));
  const SceneSpec spec = MakeSpec(seed);
  PaintGradient(spec, &img);
  for (const Shape& sh : spec.shapes) PaintShape(sh, frame, std::max(fps, 1), &img);
  return img;
}

}  // namespace sflow
