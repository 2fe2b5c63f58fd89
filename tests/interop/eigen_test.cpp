// Tests for qsparse/interop/eigen.hpp: Eigen objects seen as tensor_views and views seen as Eigen maps,
// always over the same memory (no copy), row- and column-major, strided maps, Refs and blocks.
#include "qsparse/interop/eigen.hpp"

#include <catch2/catch.hpp>

#include <numeric>
#include <type_traits>

using qsparse::index_t;

namespace {

template <class M>
void fill_iota(M& m) {
  for (index_t i = 0; i < m.rows(); ++i)
    for (index_t j = 0; j < m.cols(); ++j) m(i, j) = static_cast<typename M::Scalar>(i * 10 + j);
}

// Every element of the view is the element of the Eigen object at the same (row, col), same address.
template <class View, class Dense>
void require_same_elements(const View& v, Dense&& m) {
  REQUIRE(v.extent(0) == m.rows());
  REQUIRE(v.extent(1) == m.cols());
  for (index_t i = 0; i < m.rows(); ++i)
    for (index_t j = 0; j < m.cols(); ++j) REQUIRE(&v(i, j) == &m.coeffRef(i, j));
}

using row_major = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

}  // namespace

TEST_CASE("as_view: column-major matrix -> layout_left view over the same memory", "[eigen]") {
  Eigen::MatrixXf m(3, 4);
  fill_iota(m);
  auto v = qsparse::as_view(m);
  STATIC_REQUIRE(std::is_same_v<decltype(v), qsparse::tensor_view<float, 2, qsparse::layout_left>>);
  CHECK(v.data_handle() == m.data());
  require_same_elements(v, m);
  v(2, 1) = -5.f;
  CHECK(m(2, 1) == -5.f);
  m(0, 3) = 42.f;
  CHECK(v(0, 3) == 42.f);

  const Eigen::MatrixXf& cm = m;
  auto cv = qsparse::as_view(cm);
  STATIC_REQUIRE(std::is_same_v<decltype(cv), qsparse::tensor_view<const float, 2, qsparse::layout_left>>);
  CHECK(cv(2, 1) == -5.f);

  Eigen::Matrix3d fixed = Eigen::Matrix3d::Identity();
  auto fv = qsparse::as_view(fixed);
  STATIC_REQUIRE(std::is_same_v<decltype(fv), qsparse::tensor_view<double, 2, qsparse::layout_left>>);
  CHECK(fv(1, 1) == 1.0);
  CHECK(fv(1, 2) == 0.0);
}

TEST_CASE("as_view: row-major matrix -> layout_right view over the same memory", "[eigen]") {
  row_major m(3, 5);
  fill_iota(m);
  auto v = qsparse::as_view(m);
  STATIC_REQUIRE(std::is_same_v<decltype(v), qsparse::tensor_view<float, 2, qsparse::layout_right>>);
  CHECK(v.data_handle() == m.data());
  CHECK(v.is_row_major_contiguous());
  require_same_elements(v, m);
  v(1, 4) = 7.5f;
  CHECK(m(1, 4) == 7.5f);

  Eigen::ArrayXXi a(2, 2);
  a << 1, 2, 3, 4;
  auto av = qsparse::as_view(a);
  STATIC_REQUIRE(std::is_same_v<decltype(av), qsparse::tensor_view<int, 2, qsparse::layout_left>>);
  CHECK(av(0, 1) == 2);
}

TEST_CASE("as_view: vectors -> rank-1 views", "[eigen]") {
  Eigen::VectorXf col(5);
  col << 1, 2, 3, 4, 5;
  auto cv = qsparse::as_view(col);
  STATIC_REQUIRE(std::is_same_v<decltype(cv), qsparse::tensor_view<float, 1, qsparse::layout_right>>);
  CHECK(cv.data_handle() == col.data());
  CHECK(cv.extent(0) == 5);
  cv(4) = 50.f;
  CHECK(col(4) == 50.f);

  Eigen::RowVectorXd row = Eigen::RowVectorXd::LinSpaced(4, 0.0, 3.0);
  auto rv = qsparse::as_view(row);
  STATIC_REQUIRE(std::is_same_v<decltype(rv), qsparse::tensor_view<double, 1, qsparse::layout_right>>);
  CHECK(rv(3) == 3.0);

  // A column of a row-major matrix: stride = number of columns.
  row_major m(4, 3);
  fill_iota(m);
  auto c1 = qsparse::as_view(m.col(1));
  STATIC_REQUIRE(std::is_same_v<decltype(c1), qsparse::tensor_view<float, 1, qsparse::layout_stride>>);
  CHECK(c1.stride(0) == 3);
  for (index_t i = 0; i < 4; ++i) CHECK(&c1(i) == &m(i, 1));
  // A row of a column-major matrix: stride = number of rows.
  Eigen::MatrixXf n(4, 3);
  fill_iota(n);
  auto r2 = qsparse::as_view(n.row(2));
  CHECK(r2.stride(0) == 4);
  for (index_t j = 0; j < 3; ++j) CHECK(&r2(j) == &n(2, j));
}

TEST_CASE("as_view: maps with and without strides", "[eigen]") {
  float buf[24];
  std::iota(buf, buf + 24, 0.f);

  Eigen::Map<row_major> packed(buf, 4, 6);
  auto pv = qsparse::as_view(packed);
  STATIC_REQUIRE(std::is_same_v<decltype(pv), qsparse::tensor_view<float, 2, qsparse::layout_right>>);
  CHECK(pv.data_handle() == buf);
  CHECK(pv(3, 5) == 23.f);

  // A 3 x 4 column-major matrix whose columns are 6 apart.
  Eigen::Map<Eigen::MatrixXf, Eigen::Unaligned, Eigen::OuterStride<>> outer(buf, 3, 4, Eigen::OuterStride<>(6));
  auto ov = qsparse::as_view(outer);
  STATIC_REQUIRE(std::is_same_v<decltype(ov), qsparse::tensor_view<float, 2, qsparse::layout_stride>>);
  CHECK(ov.stride(0) == 1);
  CHECK(ov.stride(1) == 6);
  require_same_elements(ov, outer);
  CHECK(ov(2, 3) == 20.f);

  // Fully general strides, read-only.
  Eigen::Map<const row_major, Eigen::Unaligned, Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>> general(
      buf, 2, 3, Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>(12, 2));
  auto gv = qsparse::as_view(general);
  STATIC_REQUIRE(std::is_same_v<decltype(gv), qsparse::tensor_view<const float, 2, qsparse::layout_stride>>);
  CHECK(gv.stride(0) == 12);
  CHECK(gv.stride(1) == 2);
  CHECK(gv(1, 2) == 16.f);
  require_same_elements(gv, general);
}

TEST_CASE("as_view: blocks and Refs", "[eigen]") {
  Eigen::MatrixXf m(5, 6);
  fill_iota(m);
  auto bv = qsparse::as_view(m.block(1, 2, 3, 2));
  STATIC_REQUIRE(std::is_same_v<decltype(bv), qsparse::tensor_view<float, 2, qsparse::layout_stride>>);
  require_same_elements(bv, m.block(1, 2, 3, 2));
  CHECK(bv(0, 0) == 12.f);
  bv(2, 1) = -1.f;
  CHECK(m(3, 3) == -1.f);

  Eigen::Ref<Eigen::MatrixXf> ref = m.middleCols(1, 4);
  auto rv = qsparse::as_view(ref);
  CHECK(rv.data_handle() == &m(0, 1));
  CHECK(rv.stride(1) == 5);
  require_same_elements(rv, ref);

  const Eigen::MatrixXf& cm = m;
  auto cbv = qsparse::as_view(cm.block(0, 0, 2, 2));
  STATIC_REQUIRE(std::is_same_v<decltype(cbv)::element_type, const float>);
  CHECK(&cbv(1, 1) == &m(1, 1));

  Eigen::Ref<const row_major> cref = row_major::Zero(2, 2);  // Ref to a temporary it owns
  auto crv = qsparse::as_view(cref);
  STATIC_REQUIRE(std::is_same_v<decltype(crv)::element_type, const float>);
  CHECK(crv(1, 1) == 0.f);
}

TEST_CASE("as_eigen: views -> Eigen maps over the same memory", "[eigen]") {
  float buf[12];
  std::iota(buf, buf + 12, 0.f);

  auto r = qsparse::make_view(buf, 3, 4);
  auto rm = qsparse::as_eigen(r);
  STATIC_REQUIRE(std::is_same_v<decltype(rm), Eigen::Map<row_major, Eigen::Unaligned,
                                                         Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>>>);
  CHECK(rm.data() == buf);
  CHECK(rm.rows() == 3);
  CHECK(rm.cols() == 4);
  require_same_elements(r, rm);
  rm(2, 3) = 100.f;
  CHECK(r(2, 3) == 100.f);

  const qsparse::tensor_view<float, 2, qsparse::layout_left> l(buf, 4, 3);
  auto lm = qsparse::as_eigen(l);
  STATIC_REQUIRE(std::is_same_v<decltype(lm), Eigen::Map<Eigen::MatrixXf, Eigen::Unaligned,
                                                         Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>>>);
  require_same_elements(l, lm);

  auto columns = qsparse::subview(r, 1, 1, 3);  // layout_stride
  auto cm = qsparse::as_eigen(columns);
  require_same_elements(columns, cm);
  CHECK(cm(1, 0) == 5.f);

  const qsparse::tensor_view<const float, 2> c = r;
  auto constant = qsparse::as_eigen(c);
  STATIC_REQUIRE(std::is_const_v<std::remove_pointer_t<decltype(constant.data())>>);
  CHECK(constant(1, 1) == 5.f);

  auto vec = qsparse::as_eigen(qsparse::slice(r, 1, 2));  // the column 2: stride 4
  STATIC_REQUIRE(decltype(vec)::ColsAtCompileTime == 1);
  CHECK(vec.size() == 3);
  CHECK(vec.innerStride() == 4);
  CHECK(&vec(2) == buf + 10);

  // Eigen arithmetic on the mapped views: (3 x 2 columns)^T * (3 x 2 columns).
  const Eigen::MatrixXf product = cm.transpose() * cm;
  CHECK(product(0, 0) == 1.f * 1 + 5.f * 5 + 9.f * 9);
  CHECK(product(0, 1) == 1.f * 2 + 5.f * 6 + 9.f * 10);

  // Round trip keeps the addresses.
  auto back = qsparse::as_view(rm);
  require_same_elements(back, rm);
}
