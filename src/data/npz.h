// NumPy .npz datasets: bring your own features (audio features, sensor windows, images).
// Documented in docs/datasets.md.
#pragma once

#include <string>
#include <vector>

#include "data/dataset.h"

namespace mcuprune {

// Reads x_train, y_train, x_test, y_test and optionally x_val, y_val from an .npz file
// (numpy.savez or savez_compressed). x arrays: N x H x W x C, N x H x W (C = 1) or N x F
// (F x 1 x 1); uint8 values are pixels (value = pixel / 255, as images), float32, float64,
// int8 and other integer values are taken as they are (float samples). y arrays: N integer
// class indices; the class count is the largest label + 1. Without x_val the returned val
// split is empty (load_dataset carves one from x_train). Every malformed array is a UserError
// naming the file and the array.
DatasetSplits read_npz(const std::string& path, std::vector<std::string>& notes);

}  // namespace mcuprune
