// TensorBoard event files for scalar curves: TFRecord framing around hand-encoded Event protobufs, so
// `tensorboard --logdir` shows the training metrics without a protobuf or TensorFlow dependency.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace asyndgan {

struct TensorBoardScalar {
  std::string tag;
  float value = 0;
  int64_t step = 0;
  double wall_time = 0;  // seconds since the Unix epoch
};

class TensorBoardWriter {
 public:
  // Creates log_dir (and its parents) and a new file events.out.tfevents.<unix seconds>.<host> in it
  // (".1", ".2", ... appended when that name exists, as after a quick --resume), whose first record
  // is the "brain.Event:2" version event. IOError naming the path when either cannot be created.
  explicit TensorBoardWriter(const std::string& log_dir);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  // One event at `step` carrying every (tag, value), flushed to the OS before returning so a crash
  // loses at most the step being written. IOError on a failed write.
  void write_scalars(int64_t step, const std::vector<std::pair<std::string, float>>& scalars);
  const std::string& path() const { return path_; }

 private:
  void write_record(const std::string& event);
  std::FILE* file_ = nullptr;
  std::string path_;
};

// Every scalar of an event file, in order, checking the framing and both CRC-32Cs of each record and
// that the file starts with the version event: a FormatError naming the file and the record's offset.
std::vector<TensorBoardScalar> read_tensorboard_scalars(const std::string& path);

}  // namespace asyndgan
