"""Retrieval sets given as gallery/ + queries/ folders or as a TSV: reading, checks and the split they give."""

from pathlib import Path

import pytest

from snapmode.model.data import detect, load_products, load_split
from snapmode.model.retrieval_set import load_retrieval_set, read_retrieval_tsv
from tests.model.conftest import product_photo


def retrieval_folder(root: Path, products: int = 3, queries: int = 2) -> Path:
    """`products` products, one gallery photo and `queries` query photos each, as tiny JPEGs."""
    for index in range(products):
        product_photo(index, 0).save(_dir(root / "gallery" / f"P{index}") / "clean.jpg")
        for view in range(queries):
            product_photo(index, view + 1).save(_dir(root / "queries" / f"P{index}") / f"q{view}.jpg")
    return root


def _dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_folder_layout_gives_its_own_query_gallery_split(tmp_path):
    root = retrieval_folder(tmp_path / "set")
    (root / "queries" / "P1" / "notes.txt").write_text("not an image")
    assert detect(root) == "retrieval"
    split = load_split(root)
    assert [label for label, _ in split.gallery] == ["P0", "P1", "P2"]
    assert [(label, p.name) for label, p in split.queries] == [
        ("P0", "q0.jpg"), ("P0", "q1.jpg"), ("P1", "q0.jpg"), ("P1", "q1.jpg"), ("P2", "q0.jpg"), ("P2", "q1.jpg")]
    assert split.self_index is None and split.skipped == ()


def test_tsv_layout_with_header_comments_and_relative_paths(tmp_path):
    root = retrieval_folder(tmp_path / "set", products=2, queries=1)
    listing = root / "pairs.tsv"
    listing.write_text("path\tproduct\trole\n# a comment\n\ngallery/P0/clean.jpg\tshoe\tgallery\n"
                       "gallery/P1/clean.jpg\tbag\tgallery\nqueries/P1/q0.jpg\tbag\tquery\n")
    assert detect(listing) == "retrieval"
    split = load_split(listing)
    assert split.queries == [("bag", root / "queries/P1/q0.jpg")]
    assert split.gallery == [("shoe", root / "gallery/P0/clean.jpg"), ("bag", root / "gallery/P1/clean.jpg")]


@pytest.mark.parametrize("line", ["a.jpg\tshoe\tdistractor", "a.jpg\tshoe", "\tshoe\tquery"])
def test_tsv_rows_that_are_not_path_product_role_are_refused_with_their_line(tmp_path, line):
    listing = tmp_path / "set.tsv"
    listing.write_text(f"gallery.jpg\tshoe\tgallery\n{line}\n")
    with pytest.raises(ValueError, match=r"set\.tsv:2: expected"):
        read_retrieval_tsv(listing)


def test_no_queries_is_an_error(tmp_path):
    root = retrieval_folder(tmp_path / "set", queries=0)
    (root / "queries").mkdir()
    with pytest.raises(ValueError, match="no readable query images"):
        load_retrieval_set(root)


def test_a_query_product_absent_from_the_gallery_is_named(tmp_path):
    root = retrieval_folder(tmp_path / "set")
    product_photo(9, 1).save(_dir(root / "queries" / "stray") / "q.jpg")
    with pytest.raises(ValueError, match="1 query product.* no readable gallery image: stray"):
        load_retrieval_set(root)


def test_unreadable_images_are_skipped_and_counted(tmp_path):
    root = retrieval_folder(tmp_path / "set")
    (root / "queries" / "P0" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    good = (root / "queries" / "P1" / "q0.jpg").read_bytes()
    (root / "queries" / "P1" / "truncated.jpg").write_bytes(good[: len(good) // 2])
    split = load_retrieval_set(root)
    assert sorted(p.name for p, _ in split.skipped) == ["broken.jpg", "truncated.jpg"]
    assert all(reason for _, reason in split.skipped)
    assert len(split.queries) == 6


def test_a_gallery_left_empty_by_unreadable_images_is_an_error(tmp_path):
    root = retrieval_folder(tmp_path / "set", products=2)
    (root / "gallery" / "P1" / "clean.jpg").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="no readable gallery image: P1"):
        load_retrieval_set(root)


def test_all_views_and_training_are_refused_on_a_retrieval_set(tmp_path):
    root = retrieval_folder(tmp_path / "set")
    with pytest.raises(ValueError, match="own query/gallery split"):
        load_split(root, protocol="all-views")
    with pytest.raises(ValueError, match="for evaluation, not training"):
        load_products(root)
