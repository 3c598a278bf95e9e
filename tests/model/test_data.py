"""The data sources (catalog, folder, DeepFashion In-shop) and the held-out-view split."""

import json

import pytest

from snapmode.model.data import all_views_split, detect, held_out_split, inshop_split, load_products, load_split, read_inshop

PARTITION = """\
7
image_name item_id evaluation_status
img/WOMEN/Dresses/id_00000002/02_1_front.jpg id_00000002 train
img/WOMEN/Dresses/id_00000002/02_2_side.jpg id_00000002 train
img/WOMEN/Blouses_Shirts/id_00000004/01_1_front.jpg id_00000004 train
img/MEN/Denim/id_00000080/01_1_front.jpg id_00000080 query
img/MEN/Denim/id_00000080/01_2_side.jpg id_00000080 gallery
img/MEN/Denim/id_00000080/01_3_back.jpg id_00000080 gallery
img/MEN/Tees_Tanks/id_00000081/01_1_front.jpg id_00000081 gallery
"""


@pytest.fixture
def inshop(tmp_path):
    (tmp_path / "list_eval_partition.txt").write_text(PARTITION)
    return tmp_path


def test_inshop_train_products(inshop):
    products = read_inshop(inshop)
    assert [(p.product_id, len(p.images)) for p in products] == [("id_00000002", 2), ("id_00000004", 1)]
    assert products[0].images[1] == inshop / "img/WOMEN/Dresses/id_00000002/02_2_side.jpg"
    assert detect(inshop) == "inshop"


def test_inshop_official_query_gallery_split(inshop):
    split = load_split(inshop)
    assert split == inshop_split(inshop)
    assert split.queries == [("id_00000080", inshop / "img/MEN/Denim/id_00000080/01_1_front.jpg")]
    assert [item for item, _ in split.gallery] == ["id_00000080", "id_00000080", "id_00000081"]


def test_inshop_malformed_file_is_refused(tmp_path):
    (tmp_path / "list_eval_partition.txt").write_text("1\nimage_name item_id evaluation_status\na.jpg id_1 holdout\n")
    with pytest.raises(ValueError, match="train\\|query\\|gallery"):
        read_inshop(tmp_path)
    (tmp_path / "list_eval_partition.txt").write_text("not a partition file\n")
    with pytest.raises(ValueError, match="not an In-shop partition file"):
        read_inshop(tmp_path)


def test_catalog_manifest(tmp_path):
    rows = [{"product_id": "SM1", "images": ["images/SM1/0.jpg", "images/SM1/1.jpg"], "title": "x"},
            {"product_id": "SM2", "images": ["images/SM2/0.jpg"]}]
    (tmp_path / "catalog.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    products = load_products(tmp_path)
    assert [p.product_id for p in products] == ["SM1", "SM2"]
    assert products[0].images == (tmp_path / "images/SM1/0.jpg", tmp_path / "images/SM1/1.jpg")


def test_folder_and_held_out_split(photo_folder):
    products = load_products(photo_folder)
    assert detect(photo_folder) == "folder" and len(products) == 6
    split = held_out_split(products)
    assert len(split.queries) == 6 and len(split.gallery) == 12
    assert all(path.name == "2.jpg" for _, path in split.queries)  # the last view is held out
    assert not {p for _, p in split.queries} & {p for _, p in split.gallery}


def test_single_photo_products_become_distractors(photo_folder):
    products = load_products(photo_folder)
    products[0] = type(products[0])(products[0].product_id, products[0].images[:1])
    split = held_out_split(products)
    assert products[0].product_id not in {label for label, _ in split.queries}
    assert (products[0].product_id, products[0].images[0]) in split.gallery


def test_all_views_split_queries_every_photo_of_multi_photo_products(photo_folder):
    products = load_products(photo_folder)
    products[0] = type(products[0])(products[0].product_id, products[0].images[:1])
    split = all_views_split(products)
    assert len(split.gallery) == 1 + 5 * 3 and len(split.queries) == 5 * 3
    assert all(split.gallery[i] == query for i, query in zip(split.self_index, split.queries))
    assert products[0].product_id not in {label for label, _ in split.queries}


def test_all_views_protocol_is_refused_for_inshop(inshop):
    with pytest.raises(ValueError, match="its own query/gallery split"):
        load_split(inshop, protocol="all-views")


def test_empty_or_missing_sources_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_products(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no products"):
        load_products(tmp_path / "empty")

