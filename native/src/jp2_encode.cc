#include "jp2_encode.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <openjpeg.h>

#include "jp2_tile.h"
#include "png_rows.h"

// How the encoder works. OpenJPEG encodes one codestream on one thread, with only the code-block
// coding spread over its worker threads; the wavelet transform, the rate allocation and the packet
// writing of each tile stay serial. Tiles, though, are coded independently in JPEG 2000: a tile's
// tile-parts depend only on the tile's pixels, its position on the reference grid (the code-block and
// precinct partitions are anchored at the grid's origin) and the coding parameters. So each tile is
// encoded on its own by one of N worker threads, as a one-tile codestream of an image that is exactly
// that tile at its position, and the tile-parts are copied into the output in tile order with their
// tile index set: the same bytes as one codec encoding the whole image, with every core busy all the
// time. The main header is the first tile's with the image and tile sizes of the whole, followed by
// TLM marker segments listing every tile-part's length; the JP2 boxes around it are written here.

namespace {

using namespace vitrine_jp2;

// ---------------------------------------------------------------------------------------------
// The output file.

struct Output {
  int fd = -1;
  uint64_t position = 0;

  bool Write(const uint8_t* data, size_t size, std::string& error) {
    if (!WriteAt(data, size, position, error)) return false;
    position += size;
    return true;
  }

  bool WriteAt(const uint8_t* data, size_t size, uint64_t offset, std::string& error) {
    while (size > 0) {
      const ssize_t n = pwrite(fd, data, size, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error = std::string("cannot write the JP2 file: ") + std::strerror(n == 0 ? ENOSPC : errno);
        return false;
      }
      data += n;
      size -= static_cast<size_t>(n);
      offset += static_cast<uint64_t>(n);
    }
    return true;
  }
};

// ---------------------------------------------------------------------------------------------
// The whole image: strips in, tiles encoded in parallel, the file assembled in tile order.

// A strip handed in by JavaScript; `Done` runs (on any thread) once its buffer is no longer read and
// all its tiles are written, or once it failed.
struct Strip {
  const uint8_t* data = nullptr;
  uint32_t y0 = 0, rows = 0;
  uint32_t unread = 0;     // tiles whose pixels have not been copied out of the buffer yet
  uint32_t unwritten = 0;  // tiles not in the file yet
  bool completed = false;
  void (*done)(Strip*, bool ok, const std::string& error) = nullptr;
  void* user = nullptr;
};

class Encoder {
 public:
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;
  Encoder() = default;
  ~Encoder() { Close(); }

  bool Start(Settings settings, std::string& error) {
    s_ = std::move(settings);
    across_ = (s_.width + s_.tileSize - 1) / s_.tileSize;
    down_ = (s_.height + s_.tileSize - 1) / s_.tileSize;
    tiles_ = across_ * down_;
    if (tiles_ > 65535) return error = "more than 65535 tiles", false;
    out_.fd = open(s_.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out_.fd < 0) return error = "cannot create " + s_.path + ": " + std::strerror(errno), false;
    // Tiles are shared among the workers; a single tile gets OpenJPEG's own threads instead.
    const uint32_t workers = std::max<uint32_t>(1, std::min(s_.threads, tiles_));
    opjThreads_ = static_cast<int>(std::max<uint32_t>(1, s_.threads / workers));
    for (uint32_t i = 0; i < workers; i++) workers_.emplace_back([this]() { Work(); });
    return true;
  }

  const Settings& settings() const { return s_; }

  // The next min(tileSize, rows left) rows. The strip's tiles are queued; `strip->done` follows.
  bool Submit(Strip* strip, size_t size, std::string& error) {
    std::lock_guard<std::mutex> lock(m_);
    if (!error_.empty()) return error = error_, false;
    // A wrong strip is the caller's mistake, and leaves the image with a hole: it ends the encoding.
    if (submittedRows_ >= s_.height) return Fail("every row has been written already"), error = error_, false;
    const uint32_t rows = std::min(s_.tileSize, s_.height - submittedRows_);
    const size_t expected = static_cast<size_t>(s_.width) * s_.channels * rows;
    if (size != expected) {
      Fail("a strip of " + std::to_string(rows) + " rows must hold " + std::to_string(expected) + " bytes, not " + std::to_string(size));
      return error = error_, false;
    }
    strip->y0 = submittedRows_;
    strip->rows = rows;
    strip->unread = across_;
    strip->unwritten = across_;
    submittedRows_ += rows;
    const uint32_t first = (strip->y0 / s_.tileSize) * across_;
    for (uint32_t i = 0; i < across_; i++) queue_.push_back(Job{first + i, strip});
    open_.push_back(strip);
    work_.notify_all();
    return true;
  }

  // Waits for every tile, then writes the end of the codestream and the lengths left open.
  bool Finish(std::string& error) {
    {
      std::unique_lock<std::mutex> lock(m_);
      if (error_.empty() && submittedRows_ != s_.height) {
        Fail("only " + std::to_string(submittedRows_) + " of " + std::to_string(s_.height) + " rows were written");
      }
      // Every row is in: every tile gets written, or something fails.
      written_.wait(lock, [this]() { return !error_.empty() || (next_ == tiles_ && !writing_); });
      if (!error_.empty()) return error = error_, false;
    }
    StopWorkers();
    const uint8_t eoc[2] = {0xff, 0xd9};
    if (!out_.Write(eoc, 2, error)) return false;
    // TLM: every tile-part's length, in the space reserved after the main header.
    std::vector<uint8_t> tlm;
    BuildTlm(tlm);
    if (!out_.WriteAt(tlm.data(), tlm.size(), tlmOffset_, error)) return false;
    // The codestream box's length, when it fits in 32 bits (0 means "to the end of the file").
    const uint64_t box = out_.position - jp2cOffset_;
    if (box <= 0xffffffffu) {
      uint8_t length[4];
      PutBe32(length, static_cast<uint32_t>(box));
      if (!out_.WriteAt(length, 4, jp2cOffset_, error)) return false;
    }
    const int fd = out_.fd;
    out_.fd = -1;
    if (close(fd) != 0) return error = "cannot close " + s_.path + ": " + std::strerror(errno), false;
    return true;
  }

  // Stops the workers and closes the file as it is (the caller deletes it). No strip may be pending.
  void Close() {
    {
      std::lock_guard<std::mutex> lock(m_);
      if (error_.empty()) error_ = "the encoder is closed";
      DropQueue();
    }
    StopWorkers();
    if (out_.fd >= 0) close(out_.fd);
    out_.fd = -1;
  }

 private:
  struct Job {
    uint32_t tile;
    Strip* strip;
  };

  void StopWorkers() {
    {
      std::lock_guard<std::mutex> lock(m_);
      stop_ = true;
    }
    work_.notify_all();
    for (std::thread& worker : workers_) worker.join();
    workers_.clear();
  }

  void Work() {
    std::vector<uint8_t> planes(static_cast<size_t>(s_.tileSize) * s_.tileSize * s_.channels);
    for (;;) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(m_);
        work_.wait(lock, [this]() { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        job = queue_.front();
        queue_.pop_front();
      }
      const uint32_t tx = job.tile % across_;
      const Rect r{tx * s_.tileSize, job.strip->y0, std::min(s_.tileSize, s_.width - tx * s_.tileSize), job.strip->rows};
      CopyPlanes(job.strip, r, planes.data());
      {
        std::lock_guard<std::mutex> lock(m_);
        job.strip->unread--;
        MaybeComplete(job.strip);
      }
      CodedTile coded;
      MemorySink sink;
      std::string error;
      bool ok = EncodeTile(s_, r, planes.data(), opjThreads_, sink, error);
      if (ok) {
        coded.bytes = std::move(sink.bytes);
        ok = Dissect(coded, job.tile, error);
      }
      if (!ok) error = "tile " + std::to_string(job.tile) + ": " + error;
      Deliver(job, std::move(coded), ok ? "" : error);
    }
  }

  // The tile's pixels, from the interleaved strip into one plane per component.
  void CopyPlanes(const Strip* strip, const Rect& r, uint8_t* planes) const {
    const size_t stride = static_cast<size_t>(s_.width) * s_.channels;
    if (s_.channels == 1) {
      for (uint32_t y = 0; y < r.height; y++) std::memcpy(planes + static_cast<size_t>(y) * r.width, strip->data + y * stride + r.x0, r.width);
      return;
    }
    const size_t plane = static_cast<size_t>(r.width) * r.height;
    uint8_t* red = planes;
    uint8_t* green = red + plane;
    uint8_t* blue = green + plane;
    for (uint32_t y = 0; y < r.height; y++) {
      const uint8_t* from = strip->data + y * stride + static_cast<size_t>(r.x0) * 3;
      const size_t row = static_cast<size_t>(y) * r.width;
      for (uint32_t x = 0; x < r.width; x++) {
        red[row + x] = from[0];
        green[row + x] = from[1];
        blue[row + x] = from[2];
        from += 3;
      }
    }
  }

  // A tile is coded (or failed): files it, and writes every tile now next in order, unless another
  // thread is writing (it will take this one too). Writing happens outside the lock.
  void Deliver(const Job& job, CodedTile coded, const std::string& failure) {
    std::unique_lock<std::mutex> lock(m_);
    if (!failure.empty()) {
      Fail(failure);
      return;
    }
    if (!error_.empty()) return;
    ready_.emplace(job.tile, std::move(coded));
    if (writing_) return;
    writing_ = true;
    while (error_.empty()) {
      auto found = ready_.find(next_);
      if (found == ready_.end()) break;
      CodedTile tile = std::move(found->second);
      ready_.erase(found);
      lock.unlock();
      std::string error;
      const bool ok = WriteTile(tile, error);
      lock.lock();
      if (!ok) Fail(error);
      if (!error_.empty()) break;  // (another thread may have failed meanwhile: strips are completed)
      Strip* strip = open_.front();  // tiles are written in order, so are strips
      next_++;
      strip->unwritten--;
      MaybeComplete(strip);
    }
    writing_ = false;
    written_.notify_all();
  }

  // Only the writing thread calls this, outside the lock.
  bool WriteTile(const CodedTile& tile, std::string& error) {
    if (next_ == 0 && !WriteHeaders(tile, error)) return false;
    if (tile.partLengths.size() != partsPerTile_) return error = "tiles with different numbers of tile-parts", false;
    partLengths_.insert(partLengths_.end(), tile.partLengths.begin(), tile.partLengths.end());
    return out_.Write(tile.bytes.data() + tile.headerEnd, tile.bytes.size() - tile.headerEnd - 2, error);
  }

  // The JP2 boxes up to the codestream's, then the main header: the first tile's, with the sizes of
  // the whole image and tile grid in SIZ, and room for the TLM segments.
  bool WriteHeaders(const CodedTile& first, std::string& error) {
    std::vector<uint8_t> h;
    auto box = [&h](const char* type, uint32_t length) {
      const size_t at = h.size();
      h.resize(at + 8);
      PutBe32(&h[at], length);
      std::memcpy(&h[at + 4], type, 4);
    };
    auto be32 = [&h](uint32_t v) {
      h.resize(h.size() + 4);
      PutBe32(&h[h.size() - 4], v);
    };
    box("jP  ", 12);
    be32(0x0d0a870a);
    box("ftyp", 20);
    h.insert(h.end(), {'j', 'p', '2', ' ', 0, 0, 0, 0, 'j', 'p', '2', ' '});
    box("jp2h", 8 + 22 + 15);
    box("ihdr", 22);
    be32(s_.height);
    be32(s_.width);
    h.insert(h.end(), {0, static_cast<uint8_t>(s_.channels), 7 /* 8-bit unsigned */, 7 /* JPEG 2000 */, 0, 0});
    box("colr", 15);
    h.insert(h.end(), {1 /* enumerated */, 0, 0});
    be32(s_.channels == 1 ? 17 /* greyscale */ : 16 /* sRGB */);
    jp2cOffset_ = h.size();
    box("jp2c", 0);

    const size_t main = h.size();
    h.insert(h.end(), first.bytes.begin(), first.bytes.begin() + static_cast<std::ptrdiff_t>(first.headerEnd));
    bool siz = false;
    for (size_t at = main + 2; at + 4 <= h.size(); at += 2 + Be16(&h[at + 2])) {
      if (Be16(&h[at]) != kSiz) continue;
      if (at + 38 > h.size()) return error = "short SIZ marker segment", false;
      const uint32_t values[8] = {s_.width, s_.height, 0, 0, s_.tileSize, s_.tileSize, 0, 0};  // image, offsets, tiles, tile offsets
      for (int i = 0; i < 8; i++) PutBe32(&h[at + 6 + 4 * i], values[i]);
      siz = true;
      break;
    }
    if (!siz) return error = "no SIZ marker segment in OpenJPEG's codestream", false;
    // TLM before the comment, where OpenJPEG puts it: the file is then the very one OpenJPEG writes.
    size_t tlmAt = h.size();
    for (size_t at = main + 2; at + 4 <= h.size(); at += 2 + Be16(&h[at + 2])) {
      if (Be16(&h[at]) == kCom) {
        tlmAt = at;
        break;
      }
    }
    partsPerTile_ = static_cast<uint32_t>(first.partLengths.size());
    tlmOffset_ = out_.position + tlmAt;
    std::vector<uint8_t> tlm;
    BuildTlm(tlm);  // zero lengths for now; written again at the end
    h.insert(h.begin() + static_cast<std::ptrdiff_t>(tlmAt), tlm.begin(), tlm.end());
    return out_.Write(h.data(), h.size(), error);
  }

  // TLM marker segments for every tile-part: tile index (8 or 16 bits) and length (32 bits), as many
  // segments as 65535-byte segments need.
  void BuildTlm(std::vector<uint8_t>& tlm) const {
    const uint32_t indexBytes = tiles_ <= 255 ? 1 : 2;
    const size_t total = static_cast<size_t>(tiles_) * partsPerTile_;
    const size_t perSegment = (65535 - 4) / (indexBytes + 4);
    tlm.clear();
    for (size_t done = 0, segment = 0; done < total; segment++) {
      const size_t count = std::min(perSegment, total - done);
      const size_t at = tlm.size();
      tlm.resize(at + 6 + count * (indexBytes + 4));
      PutBe16(&tlm[at], kTlm);
      PutBe16(&tlm[at + 2], static_cast<uint32_t>(4 + count * (indexBytes + 4)));
      tlm[at + 4] = static_cast<uint8_t>(segment);
      tlm[at + 5] = static_cast<uint8_t>((indexBytes << 4) | 0x40);
      uint8_t* p = &tlm[at + 6];
      for (size_t i = done; i < done + count; i++) {
        const uint32_t tile = static_cast<uint32_t>(i / partsPerTile_);
        if (indexBytes == 1) {
          *p++ = static_cast<uint8_t>(tile);
        } else {
          PutBe16(p, tile);
          p += 2;
        }
        PutBe32(p, i < partLengths_.size() ? partLengths_[i] : 0);
        p += 4;
      }
      done += count;
    }
  }

  // Under the lock: the first error stops everything; queued tiles are dropped and every strip
  // completes (with the error) as soon as its buffer is no longer read.
  void Fail(const std::string& error) {
    if (error_.empty()) error_ = error;
    DropQueue();
    for (Strip* strip : std::vector<Strip*>(open_.begin(), open_.end())) MaybeComplete(strip);
    written_.notify_all();
  }

  void DropQueue() {
    for (const Job& job : queue_) job.strip->unread--;
    queue_.clear();
  }

  // Under the lock.
  void MaybeComplete(Strip* strip) {
    if (strip->completed) return;
    const bool ok = strip->unwritten == 0;
    if (!ok && (error_.empty() || strip->unread > 0)) return;
    strip->completed = true;
    open_.erase(std::find(open_.begin(), open_.end(), strip));
    strip->done(strip, ok, ok ? std::string() : error_);
  }

  Settings s_;
  Output out_;
  uint32_t across_ = 0, down_ = 0, tiles_ = 0;
  int opjThreads_ = 1;
  std::vector<std::thread> workers_;

  std::mutex m_;
  std::condition_variable work_;     // a job was queued, or the workers must stop
  std::condition_variable written_;  // tiles were written, or something failed
  std::deque<Job> queue_;
  std::deque<Strip*> open_;          // strips not completed yet, in order
  std::map<uint32_t, CodedTile> ready_;  // coded tiles waiting for their turn
  uint32_t submittedRows_ = 0;
  uint32_t next_ = 0;                // the next tile to write
  bool writing_ = false;
  bool stop_ = false;
  std::string error_;

  // Only the writing thread touches these (then Finish, once every tile is written).
  uint64_t jp2cOffset_ = 0, tlmOffset_ = 0;
  uint32_t partsPerTile_ = 0;
  std::vector<uint32_t> partLengths_;
};

// ---------------------------------------------------------------------------------------------
// Pixels from a pipe: libvips writes the image into a named pipe as an uncompressed PNG, and a
// thread of the encoder's reads it in large blocks (png_rows.h), cuts the rows into strips and
// queues them. The JavaScript thread never touches the pixels.

// Reads a PNG from a pipe (or any file) on a thread of its own and queues its rows, strip by
// strip, to the encoder. Three strip buffers: two in the encoder, one filling; the reader waits for
// one to come back, and libvips, behind it, for the pipe to empty.
class PipeReader {
 public:
  PipeReader(const PipeReader&) = delete;
  PipeReader& operator=(const PipeReader&) = delete;

  // `fd`: opened without blocking (the writer need not be there yet); the reader closes it.
  PipeReader(Encoder* encoder, int fd) : encoder_(encoder), fd_(fd) {
    const Settings& s = encoder->settings();
    const size_t bytes = static_cast<size_t>(s.width) * s.channels * std::min(s.tileSize, s.height);
    for (Slot& slot : slots_) {
      slot.reader = this;
      slot.buffer.resize(bytes);
    }
  }

  ~PipeReader() {
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) close(fd_);
  }

  // `done(ok, error, streamEnded)`: streamEnded when the stream stopped short or its writer failed
  // (the writer's own error then says why).
  void Start(std::function<void(bool, const std::string&, bool)> done) {
    done_ = std::move(done);
    thread_ = std::thread([this]() { Run(); });
  }

  // The writer is done: it succeeded (the stream should be complete) or failed.
  void EndInput(bool failed) {
    std::lock_guard<std::mutex> lock(m_);
    ended_ = true;
    writerFailed_ = failed;
    returned_.notify_all();
  }

 private:
  struct Slot {
    PipeReader* reader = nullptr;
    std::vector<uint8_t> buffer;
    Strip strip;
    bool busy = false;
  };

  void Run() {
    std::string error;
    bool gotData = false;
    const bool ok = Read(gotData, error);
    if (filling_ != nullptr) {  // a strip the stream stopped in the middle of: never queued
      std::lock_guard<std::mutex> lock(m_);
      filling_->busy = false;
      filling_ = nullptr;
    }
    if (!ok) {
      // libvips must be able to finish (or fail) and let go of the pipe before it is closed: a
      // writer still opening a pipe without a reader would wait forever. So, unless it has already
      // written (then closing makes its writes fail at once), drain the pipe until it says it is done.
      while (!gotData && !Ended()) {
        uint8_t sink[65536];
        pollfd p{fd_, POLLIN, 0};
        poll(&p, 1, 20);
        if (read(fd_, sink, sizeof sink) > 0) gotData = true;
      }
    }
    close(fd_);
    fd_ = -1;
    // Every queued strip back before the buffers may go.
    {
      std::unique_lock<std::mutex> lock(m_);
      returned_.wait(lock, [this]() { return std::none_of(std::begin(slots_), std::end(slots_), [](const Slot& s) { return s.busy; }); });
    }
    done_(ok, error, streamEnded_);
  }

  bool Ended() {
    std::lock_guard<std::mutex> lock(m_);
    return ended_;
  }

  bool Read(bool& gotData, std::string& error) {
    const Settings& s = encoder_->settings();
    PngRows png(s.width, s.height, s.channels);
    const size_t stride = static_cast<size_t>(s.width) * s.channels;
    Slot*& slot = filling_;
    uint32_t stripRows = 0, filled = 0, submitted = 0;
    auto row = [&](const uint8_t* data, std::string& err) -> bool {
      if (slot == nullptr) {
        slot = Acquire(err);
        if (slot == nullptr) return false;
        stripRows = std::min(s.tileSize, s.height - submitted);
        filled = 0;
      }
      std::memcpy(slot->buffer.data() + filled * stride, data, stride);
      if (++filled < stripRows) return true;
      slot->strip = Strip();
      slot->strip.data = slot->buffer.data();
      slot->strip.user = slot;
      slot->strip.done = [](Strip* strip, bool, const std::string&) {
        auto* done = static_cast<Slot*>(strip->user);
        std::lock_guard<std::mutex> lock(done->reader->m_);
        done->busy = false;
        done->reader->returned_.notify_all();
      };
      Slot* queued = slot;
      slot = nullptr;
      submitted += stripRows;
      if (!encoder_->Submit(&queued->strip, stride * stripRows, err)) {
        std::lock_guard<std::mutex> lock(m_);
        queued->busy = false;
        return false;
      }
      return true;
    };
    std::vector<uint8_t> block(1 << 20);
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(m_);
        if (writerFailed_) return streamEnded_ = true, error = "the image stream failed", false;
      }
      const ssize_t n = read(fd_, block.data(), block.size());
      if (n > 0) {
        gotData = true;
        if (!png.Push(block.data(), static_cast<size_t>(n), row, error)) return false;
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        return error = std::string("cannot read the image stream: ") + std::strerror(errno), false;
      }
      // n == 0 is the end of the stream once a writer has come and gone; before one comes, a pipe
      // opened without blocking reads as ended too, so it only counts after data or the writer's end.
      if (n == 0 && (gotData || Ended())) {
        if (!png.Complete()) {
          streamEnded_ = true;
          return error = "the image stream ended early (" + std::to_string(png.rows()) + " of " + std::to_string(s.height) + " rows)", false;
        }
        return true;
      }
      pollfd p{fd_, POLLIN, 0};
      poll(&p, 1, n == 0 ? 20 : 200);
    }
  }

  // A free strip buffer; waits for one to come back from the encoder.
  Slot* Acquire(std::string& error) {
    std::unique_lock<std::mutex> lock(m_);
    for (;;) {
      if (writerFailed_) return streamEnded_ = true, error = "the image stream failed", nullptr;
      for (Slot& slot : slots_) {
        if (!slot.busy) {
          slot.busy = true;
          return &slot;
        }
      }
      returned_.wait(lock);
    }
  }

  Encoder* encoder_;
  int fd_;
  std::thread thread_;
  std::function<void(bool, const std::string&, bool)> done_;
  bool streamEnded_ = false;  // the reader's thread only
  Slot* filling_ = nullptr;   // the reader's thread only: the strip being filled
  std::mutex m_;
  std::condition_variable returned_;
  Slot slots_[3];
  bool ended_ = false;
  bool writerFailed_ = false;
};

// ---------------------------------------------------------------------------------------------
// JavaScript.

bool UintProperty(const Napi::Object& object, const char* name, uint32_t min, uint32_t max, uint32_t& value) {
  Napi::Value v = object.Get(name);
  if (!v.IsNumber()) return false;
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max) || d != std::floor(d)) return false;
  value = static_cast<uint32_t>(d);
  return true;
}

bool IsPowerOfTwo(uint32_t n) { return n != 0 && (n & (n - 1)) == 0; }

// Reads and checks the constructor's options; an empty string when they are valid.
std::string ReadSettings(const Napi::Object& o, Settings& s) {
  Napi::Value path = o.Get("path");
  if (!path.IsString() || path.As<Napi::String>().Utf8Value().empty()) return "path must be a non-empty string";
  s.path = path.As<Napi::String>().Utf8Value();
  if (!UintProperty(o, "width", 1, 1u << 30, s.width) || !UintProperty(o, "height", 1, 1u << 30, s.height)) {
    return "width and height must be whole numbers from 1";
  }
  if (!UintProperty(o, "channels", 1, 3, s.channels) || s.channels == 2) return "channels must be 1 or 3";
  if (!UintProperty(o, "tileSize", 64, 16384, s.tileSize)) return "tileSize must be a whole number from 64 to 16384";
  if (!UintProperty(o, "resolutions", 1, 32, s.resolutions)) return "resolutions must be a whole number from 1 to 32";
  if ((1u << (s.resolutions - 1)) > s.tileSize) return "resolutions: 2^(resolutions - 1) must not exceed tileSize";
  if (!UintProperty(o, "threads", 1, 1024, s.threads)) return "threads must be a whole number from 1 to 1024";
  Napi::Value precincts = o.Get("precincts");
  if (!precincts.IsArray() || precincts.As<Napi::Array>().Length() == 0) return "precincts must be a non-empty array";
  Napi::Array list = precincts.As<Napi::Array>();
  for (uint32_t i = 0; i < list.Length() && i < 33; i++) {
    Napi::Value v = list.Get(i);
    const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : 0;
    if (!(d >= 16 && d <= 32768) || !IsPowerOfTwo(static_cast<uint32_t>(d)) || d != std::floor(d)) {
      return "precincts must be powers of two from 16 to 32768";
    }
    s.precincts.push_back(static_cast<uint32_t>(d));
  }
  Napi::Value lossless = o.Get("lossless");
  if (!lossless.IsBoolean()) return "lossless must be a boolean";
  s.lossless = lossless.As<Napi::Boolean>().Value();
  if (!s.lossless) {
    Napi::Value psnr = o.Get("psnr");
    if (!psnr.IsArray() || psnr.As<Napi::Array>().Length() == 0 || psnr.As<Napi::Array>().Length() > 100) {
      return "psnr must be an array of 1 to 100 quality layers (dB) when lossless is false";
    }
    Napi::Array layers = psnr.As<Napi::Array>();
    for (uint32_t i = 0; i < layers.Length(); i++) {
      Napi::Value v = layers.Get(i);
      const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : 0;
      if (!(d >= 10 && d <= 120) || (i > 0 && d <= s.psnr.back())) return "psnr layers must be increasing, from 10 to 120 dB";
      s.psnr.push_back(static_cast<float>(d));
    }
  }
  return "";
}

void Noop(const Napi::CallbackInfo&) {}

class Jp2EncoderWrap;

// A writeStrip or finish call. Its promise settles on the JavaScript thread, in the finaliser of a
// thread-safe function that the encoder's thread releases when the call is done.
struct Call {
  explicit Call(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
  Jp2EncoderWrap* self = nullptr;
  Strip strip;
  Napi::Reference<Napi::Buffer<uint8_t>> keep;
  Napi::Promise::Deferred deferred;
  Napi::ThreadSafeFunction settle;
  std::thread thread;  // finish only
  bool ok = false;
  std::string error;
  std::string code;  // the Error's `code`, when there is one
};

class Jp2EncoderWrap : public Napi::ObjectWrap<Jp2EncoderWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Jp2Encoder",
                       {InstanceMethod<&Jp2EncoderWrap::WriteStrip>("writeStrip"), InstanceMethod<&Jp2EncoderWrap::ReadPng>("readPng"),
                        InstanceMethod<&Jp2EncoderWrap::EndInput>("endInput"), InstanceMethod<&Jp2EncoderWrap::Finish>("finish"),
                        InstanceMethod<&Jp2EncoderWrap::Abort>("abort")});
  }

  explicit Jp2EncoderWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Jp2EncoderWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() != 1 || !info[0].IsObject()) {
      Napi::TypeError::New(env, "Jp2Encoder: expects one options object").ThrowAsJavaScriptException();
      return;
    }
    Settings settings;
    const std::string invalid = ReadSettings(info[0].As<Napi::Object>(), settings);
    if (env.IsExceptionPending()) return;
    if (!invalid.empty()) {
      Napi::TypeError::New(env, "Jp2Encoder: " + invalid).ThrowAsJavaScriptException();
      return;
    }
    auto encoder = std::make_unique<Encoder>();
    std::string error;
    if (!encoder->Start(std::move(settings), error)) {
      Napi::Error::New(env, "Jp2Encoder: " + error).ThrowAsJavaScriptException();
      return;
    }
    encoder_ = std::move(encoder);
  }

 private:
  Napi::Value WriteStrip(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() != 1 || !info[0].IsBuffer()) return Rejected(env, "writeStrip expects one Buffer");
    if (!encoder_ || finishing_) return Rejected(env, "the encoder is closed");
    Napi::Buffer<uint8_t> buffer = info[0].As<Napi::Buffer<uint8_t>>();
    Call* call = NewCall(env);
    call->strip.data = buffer.Data();
    call->strip.user = call;
    call->strip.done = [](Strip* strip, bool ok, const std::string& error) {
      auto* c = static_cast<Call*>(strip->user);
      c->ok = ok;
      c->error = error;
      c->settle.Release();
    };
    call->keep = Napi::Persistent(buffer);
    std::string error;
    if (!encoder_->Submit(&call->strip, buffer.Length(), error)) {
      call->error = error;
      call->settle.Release();  // settles (rejected) on the next turn of the event loop
    }
    return call->deferred.Promise();
  }

  Napi::Value ReadPng(const Napi::CallbackInfo& info) {
    // Throws (rather than rejects) when reading cannot start: the caller must then not start libvips.
    Napi::Env env = info.Env();
    auto refuse = [&](const std::string& message) {
      Napi::Error::New(env, "Jp2Encoder: " + message).ThrowAsJavaScriptException();
      return env.Undefined();
    };
    if (info.Length() != 1 || !info[0].IsString()) return refuse("readPng expects a path");
    if (!encoder_ || finishing_) return refuse("the encoder is closed");
    if (reader_) return refuse("readPng: the image is already being read");
    const std::string path = info[0].As<Napi::String>().Utf8Value();
    const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return refuse("cannot open " + path + ": " + std::strerror(errno));
#ifdef F_SETPIPE_SZ
    fcntl(fd, F_SETPIPE_SZ, 1 << 20);  // fewer, larger reads; a plain file or a refusal is fine
#endif
    Call* call = NewCall(env);
    reader_ = std::make_unique<PipeReader>(encoder_.get(), fd);
    reader_->Start([call](bool ok, const std::string& error, bool streamEnded) {
      call->ok = ok;
      call->error = error;
      if (streamEnded) call->code = "VITRINE_STREAM_ENDED";
      call->settle.Release();
    });
    return call->deferred.Promise();
  }

  Napi::Value EndInput(const Napi::CallbackInfo& info) {
    if (reader_) reader_->EndInput(info.Length() > 0 && info[0].ToBoolean().Value());
    return info.Env().Undefined();
  }

  Napi::Value Finish(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!encoder_ || finishing_) return Rejected(env, "the encoder is closed");
    finishing_ = true;
    Call* call = NewCall(env);
    call->thread = std::thread([call, encoder = encoder_.get()]() {
      call->ok = encoder->Finish(call->error);
      call->settle.Release();
    });
    return call->deferred.Promise();
  }

  Napi::Value Abort(const Napi::CallbackInfo& info) {
    if (pending_ > 0) {
      Napi::Error::New(info.Env(), "Jp2Encoder: abort() while calls are running; wait for them first").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    reader_.reset();
    encoder_.reset();
    return info.Env().Undefined();
  }

  static Napi::Value Rejected(Napi::Env env, const std::string& message) {
    auto deferred = Napi::Promise::Deferred::New(env);
    deferred.Reject(Napi::Error::New(env, "Jp2Encoder: " + message).Value());
    return deferred.Promise();
  }

  Call* NewCall(Napi::Env env) {
    auto* call = new Call(env);
    call->self = this;
    call->settle = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, Noop), "vitrine:jp2encode", 0, 1, call, Settled,
                                                 static_cast<void*>(nullptr));
    pending_++;
    Ref();  // the object lives until every call settles, whatever JavaScript does with it
    return call;
  }

  // On the JavaScript thread, once the thread-safe function is released.
  static void Settled(Napi::Env env, void*, Call* call) {
    if (call->thread.joinable()) call->thread.join();
    Jp2EncoderWrap* self = call->self;
    self->pending_--;
    call->keep.Reset();
    Napi::HandleScope scope(env);
    if (call->ok) {
      call->deferred.Resolve(env.Undefined());
    } else {
      Napi::Error error = Napi::Error::New(env, "Jp2Encoder: " + call->error);
      if (!call->code.empty()) error.Set("code", Napi::String::New(env, call->code));
      call->deferred.Reject(error.Value());
    }
    self->Unref();
    delete call;
  }

  std::unique_ptr<Encoder> encoder_;
  std::unique_ptr<PipeReader> reader_;  // after encoder_: destroyed first, as it feeds it
  uint32_t pending_ = 0;
  bool finishing_ = false;
};

Napi::Value MakeFifo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "makeFifo expects a path").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  if (mkfifo(path.c_str(), 0600) != 0) {
    Napi::Error::New(env, "mkfifo " + path + ": " + std::strerror(errno)).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

}  // namespace

void RegisterJp2Encode(Napi::Env env, Napi::Object exports) {
  exports.Set("Jp2Encoder", Jp2EncoderWrap::Define(env));
  exports.Set("makeFifo", Napi::Function::New(env, MakeFifo));
}
