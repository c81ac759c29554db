"Bad input to `iadnb.data`, from the user's side: every mistake gives a `DataError` naming the path and the fix."
import shutil
import numpy as np
import pytest
from PIL import Image
from iadnb.core import DataError
from iadnb.data import (mvtec_ad, mvtec_loco, visa, btad, folder, load_category, list_categories, load_image,
                        load_mask, AnomalyDataset, ImageTransform, make_toy_dataset, find_data)


@pytest.fixture
def ad(tmp_path):
    "A tiny MVTec AD layout: <tmp>/ad/toy/{train,test,ground_truth}."
    return make_toy_dataset(tmp_path/'ad', 'mvtec_ad')


def _png(path, arr):
    path.parent.mkdir(parents=True, exist_ok=True); Image.fromarray(arr).save(path)


# --- wrong folder layout -------------------------------------------------------------------------

def test_root_missing(tmp_path):
    with pytest.raises(DataError, match='does not exist'): mvtec_ad(tmp_path/'nope', 'toy')


def test_unknown_category_lists_available(ad):
    with pytest.raises(DataError, match=r"unknown mvtec_ad category 'bottle'.*Categories in .*: toy"):
        mvtec_ad(ad, 'bottle')


def test_root_is_category_folder_hint(ad):
    with pytest.raises(DataError, match='looks like a category folder'): mvtec_ad(ad/'toy', 'bottle')


def test_missing_train_good(ad):
    (ad/'toy'/'train'/'good').rename(ad/'toy'/'train'/'normal')
    with pytest.raises(DataError, match='train/good'): mvtec_ad(ad, 'toy')


def test_btad_layout_is_not_mvtec(tmp_path):
    root = make_toy_dataset(tmp_path/'b', 'btad')
    with pytest.raises(DataError, match='train/good'): mvtec_ad(root, 'toy')   # BTAD uses train/ok
    assert len(btad(root, 'toy').train) == 4


def test_missing_test_folder(ad):
    shutil.rmtree(ad/'toy'/'test')
    with pytest.raises(DataError, match='test'): mvtec_ad(ad, 'toy')


def test_visa_without_csv_rows_for_category(tmp_path):
    root = make_toy_dataset(tmp_path/'v', 'visa', category='candle')
    (root/'split_csv'/'1cls.csv').write_text('object,split,label,image,mask\npcb1,train,normal,pcb1/x.JPG,\n')
    with pytest.raises(DataError, match="no rows for object 'candle'"): visa(root, 'candle')


def test_unknown_dataset(ad):
    with pytest.raises(DataError, match='registered are'): load_category('mvtec', ad, 'toy')
    assert list_categories('mvtec_ad', ad) == ['toy']


# --- empty splits --------------------------------------------------------------------------------

def test_empty_train_split(ad):
    for p in (ad/'toy'/'train'/'good').iterdir(): p.unlink()
    (ad/'toy'/'train'/'good'/'notes.txt').write_text('not an image')
    with pytest.raises(DataError, match='holds no images'): mvtec_ad(ad, 'toy')


def test_empty_test_split(ad):
    shutil.rmtree(ad/'toy'/'test'); (ad/'toy'/'test'/'good').mkdir(parents=True)
    with pytest.warns(UserWarning), pytest.raises(DataError, match='no test images'): mvtec_ad(ad, 'toy')


# --- unreadable / truncated files ----------------------------------------------------------------

def test_not_an_image(ad):
    bad = ad/'toy'/'train'/'good'/'001.png'; bad.write_text('<html>404</html>')
    ds = AnomalyDataset(mvtec_ad(ad, 'toy').train, ImageTransform(16))
    with pytest.raises(DataError, match='001.png'): ds[1]
    ds[0]   # the others still load


def test_truncated_image(ad):
    p = ad/'toy'/'test'/'good'/'000.png'; raw = p.read_bytes(); p.write_bytes(raw[:len(raw) // 2])
    with pytest.raises(DataError, match='truncated'): load_image(p)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match='does not exist'): load_mask(tmp_path/'gone.png')


# --- masks ---------------------------------------------------------------------------------------

def test_odd_sized_mask(ad):
    mp = ad/'toy'/'ground_truth'/'crack'/'000_mask.png'
    _png(mp, np.zeros((31, 32), np.uint8))
    ds = AnomalyDataset(mvtec_ad(ad, 'toy').test, ImageTransform(16))
    i = [k for k, s in enumerate(ds.samples) if mp in s.mask_paths][0]
    with pytest.raises(DataError) as e: ds[i]
    msg = str(e.value)
    assert '000_mask.png' in msg and str(ds.samples[i].path) in msg and '31x32' in msg and '32x32' in msg
    with pytest.raises(DataError, match='31x32'): ds.gt_masks()


def test_anomaly_without_mask_is_allowed(ad):
    (ad/'toy'/'ground_truth'/'stain'/'000_mask.png').unlink()
    cd = mvtec_ad(ad, 'toy')
    s = [s for s in cd.test if s.defect_type == 'stain'][0]
    assert s.label == 1 and s.mask_paths == ()
    item = AnomalyDataset([s], ImageTransform(16))[0]
    assert item['label'] == 1 and item['mask'].sum() == 0


# --- odd but valid images ------------------------------------------------------------------------

@pytest.mark.parametrize('mode', ['L', 'RGBA', 'P', 'I;16', '1'])
def test_odd_modes_accepted(tmp_path, mode):
    rgb = np.random.default_rng(0).integers(0, 256, (10, 12, 3), dtype=np.uint8)
    im = Image.fromarray(rgb)
    if mode == 'I;16': im = Image.fromarray(rgb[..., 0].astype(np.uint16) * 257)
    elif mode == 'RGBA': im = Image.fromarray(np.dstack([rgb, np.full((10, 12), 0, np.uint8)]))  # fully transparent
    else: im = im.convert(mode)
    im.save(tmp_path/'x.png')
    a = load_image(tmp_path/'x.png')
    assert a.shape == (10, 12, 3) and a.dtype == np.uint8
    if mode == 'RGBA': assert (a == rgb).all()           # alpha dropped, colours kept
    if mode == 'I;16': assert (a[..., 1] == rgb[..., 0]).all()


def test_grayscale_and_rgba_in_a_dataset(ad):
    g = ad/'toy'/'train'/'good'/'000.png'; Image.open(g).convert('L').save(g)
    r = ad/'toy'/'train'/'good'/'001.png'; Image.open(r).convert('RGBA').save(r)
    ds = AnomalyDataset(mvtec_ad(ad, 'toy').train, ImageTransform(16))
    assert ds[0]['image'].shape == ds[1]['image'].shape == (3, 16, 16)


# --- every layout loads --------------------------------------------------------------------------

@pytest.mark.parametrize('layout', ['mvtec_ad', 'mvtec_loco', 'visa', 'btad', 'folder'])
def test_layouts_load(tmp_path, layout):
    root = make_toy_dataset(tmp_path, layout)
    cd = load_category(layout, root, 'toy')
    assert cd.train and cd.test and all(s.mask_paths for s in cd.test if s.label)
    assert AnomalyDataset(cd.test, ImageTransform(16)).gt_masks().any()


def test_loco_with_synthloco_extras(tmp_path):
    root = make_toy_dataset(tmp_path, 'mvtec_loco')
    (root/'toy'/'parts'/'train'/'good').mkdir(parents=True); (root/'toy'/'parts_classes.json').write_text('{}')
    cd = mvtec_loco(root, 'toy')
    assert len(cd.validation) == 2 and set(cd.defects) == {'missing_part', 'wrong_part', 'scratch'}


# --- real data (skips when absent) ---------------------------------------------------------------

def test_real_mvtec_ad():
    root = find_data('mvtec_ad_256')
    if root is None or not (root/'grid').is_dir(): pytest.skip('shared MVTec AD subset not on disk')
    cd = mvtec_ad(root, 'grid')
    assert len(cd.train) == 264 and sum(s.label for s in cd.test) == 57
