"MuSc from the user's side: zero-shot never opens a training image, and bad input (too few images, mixed sizes, a ViT size its patches cannot tile, absent ViT weights) is refused or handled as documented."
from pathlib import Path
import numpy as np
import torch
import pytest
from PIL import Image
from iadnb.cli import main
from iadnb.core import build_method, ConfigError, DataError, WeightsNotFoundError
from iadnb.data import AnomalyDataset, load_category, make_toy_dataset
from iadnb.evaluate import evaluate


@pytest.fixture
def toy(tmp_path):
    return make_toy_dataset(tmp_path / 'data', 'mvtec_ad', n_train=4, n_good=4, n_bad=3, size=64)


def test_zero_shot_never_reads_train(toy, monkeypatch):
    "Every training image is unreadable and every image read is recorded: the run succeeds and opened none of train/."
    for p in Path(toy, 'toy', 'train').rglob('*.png'): p.write_bytes(b'not an image')
    import iadnb.data as data
    opened, load = [], data.load_image
    monkeypatch.setattr(data, 'load_image', lambda p: (opened.append(Path(p)), load(p))[1])
    r = evaluate('musc', dataset='mvtec_ad', data_root=toy, categories='toy', image_size=64, hparams={'score_border': 8}, device='cpu', out_dir=None)
    cr = r.categories['toy']
    assert cr.n_train == 0 and cr.metrics['image_auroc'] > 0.8
    assert opened and not [p for p in opened if 'train' in p.parts], opened
    assert {p.parent.parent.name for p in opened} == {'test'}


def test_fewer_than_five_images_is_a_clear_error(toy):
    data = load_category('mvtec_ad', toy, 'toy')
    m = build_method('musc', preset='fast', image_size=64, score_border=0, device='cpu').fit(None)
    with pytest.raises(DataError, match='at least 5'): m.predict(AnomalyDataset(data.test[:4], m.transform))
    with pytest.raises(DataError, match='at least 5 reference'):
        build_method('musc', preset='fast', image_size=64, score_border=0, device='cpu', reference_images=10).fit(AnomalyDataset(data.test[:3], m.transform))


def test_mixed_sizes_are_resized_with_a_warning(toy):
    "Documented behaviour: images of other sizes are resized to image_size (check_category warns); maps come at image_size."
    p = sorted(Path(toy, 'toy', 'test', 'good').glob('*.png'))[0]
    Image.open(p).resize((80, 48)).save(p)
    with pytest.warns(UserWarning, match='sizes'):
        r = evaluate('musc', dataset='mvtec_ad', data_root=toy, categories='toy', image_size=64, hparams={'score_border': 8}, device='cpu', out_dir=None, pixel=False)
    assert r.categories['toy'].maps.shape[1:] == (64, 64)


def test_vit_size_its_patches_cannot_tile():
    with pytest.raises(ConfigError, match=r'16-pixel patches: image_size=250 .* 240 or 256'):
        build_method('musc', backbone='clip:ViT-B-16', image_size=250, weights=None)
    assert build_method('musc', backbone='clip:ViT-B-16', image_size=256, weights=None).layers == ['2', '5', '8', '11']


def test_bad_parameters():
    with pytest.raises(ConfigError, match='odd'): build_method('musc', r_list=[1, 2])
    with pytest.raises(ConfigError, match='divide_num'): build_method('musc', divide_num=0)


def test_paper_preset_without_vit_weights_names_the_file(toy, monkeypatch, capsys):
    monkeypatch.delenv('IADNB_WEIGHTS', raising=False); monkeypatch.delenv('IADNB_ONLINE', raising=False)
    with pytest.raises(WeightsNotFoundError, match='ViT-L-14-336.openai'): build_method('musc', preset='paper')
    with pytest.raises(SystemExit) as e:
        main(['eval', '--method', 'musc', '--preset', 'paper', '--dataset', 'mvtec_ad', '--data-root', str(toy), '--device', 'cpu', '--out-dir', ''])
    err = capsys.readouterr().err
    assert e.value.code != 0 and 'ViT-L-14-336' in err and 'IADNB_WEIGHTS' in err and 'Traceback' not in err, err


def test_divide_num_subsets(toy):
    "Random subsets (seeded, never by label) each scored on their own; a subset under 5 images is refused, naming the fix."
    data = load_category('mvtec_ad', toy, 'toy')
    m = build_method('musc', preset='fast', image_size=64, score_border=0, device='cpu', divide_num=2).fit(None)
    ds = AnomalyDataset(data.test, m.transform)
    p = m.predict(ds)
    assert len(p.scores) == len(ds) == 10 and p.maps.shape == (10, 64, 64)
    with pytest.raises(DataError, match=r'divide_num=3 splits 10 images into subsets of 3: .* divide_num <= 2'):
        build_method('musc', preset='fast', image_size=64, score_border=0, device='cpu', divide_num=3).fit(None).predict(ds)


def test_clip_vit_path_one_forward_pass(toy):
    "A CLIP ViT (random weights: no download) built for the input size: tokens and the RsCIN embedding from one pass, scores for every image."
    from iadnb.methods.musc import features_and_embedding
    data = load_category('mvtec_ad', toy, 'toy')
    m = build_method('musc', backbone='clip:ViT-B-32', image_size=64, weights=None, device='cpu').fit(None)
    ds = AnomalyDataset(data.test, m.transform)
    x = torch.stack([ds[i]['image'] for i in range(3)])
    feats, emb = features_and_embedding(m.backbone, x)
    assert list(feats) == ['2', '5', '8', '11'] and feats['11'].shape == (3, 768, 2, 2)
    assert emb.shape == (3, 512) and torch.allclose(emb, m.backbone.embed(x), atol=1e-5)   # the same embedding as a separate pass
    p = m.predict(ds)
    assert p.maps.shape == (len(ds), 64, 64) and np.isfinite(p.scores).all()


def test_reference_mode_too_few_is_refused_at_fit(toy):
    data = load_category('mvtec_ad', toy, 'toy')
    with pytest.raises(ConfigError, match='reference_images'): build_method('musc', reference_images=-1)
    m = build_method('musc', preset='fast', image_size=64, score_border=0, device='cpu', reference_images=3)
    with pytest.raises(DataError, match='at least 5 images'): m.fit(AnomalyDataset(data.test, m.transform))


def test_auto_symmetries_kept_with_a_reference_model(toy, tmp_path, monkeypatch):
    "symmetries='auto' in reference mode: the choice (forced to 8 here) is saved and reloaded; a file without it still loads and scores the same."
    import iadnb.methods.musc as musc
    from iadnb.core import AnomalyModel
    data = load_category('mvtec_ad', toy, 'toy')
    monkeypatch.setattr(musc, 'symmetries_for', lambda shares: 8)
    m = build_method('musc', preset='fast', image_size=64, score_border=0, device='cpu', reference_images=5)
    ref, test = AnomalyDataset(data.train + data.test[:1], m.transform), AnomalyDataset(data.test, m.transform)
    m.fit(ref)
    assert m.hparams['symmetries'] == 'auto' and m.symmetries_used == 8 and m.graph.symmetries == 8 and len(m.symmetry_shares) == 8
    p = m.predict(test)
    loaded = AnomalyModel.load(m.save(tmp_path / 'm.pt'))
    assert loaded.symmetries_used == 8 and loaded.graph.symmetries == 8 and loaded.symmetry_shares == m.symmetry_shares
    np.testing.assert_allclose(loaded.predict(test).scores, p.scores, rtol=1e-5)
    ck = torch.load(tmp_path / 'm.pt', weights_only=True)
    for k in ('symmetries_used', 'symmetry_shares'): del ck['state'][k]       # a file saved before the option
    torch.save(ck, tmp_path / 'old.pt')
    old = AnomalyModel.load(tmp_path / 'old.pt')
    assert old.symmetries_used is None and old.graph.symmetries == 1          # the reference still holds the turned patches
    np.testing.assert_allclose(old.predict(test).scores, p.scores, rtol=1e-5)


def test_failed_symmetry_choice_leaves_the_paper_method(toy, monkeypatch):
    import iadnb.methods.musc as musc
    data = load_category('mvtec_ad', toy, 'toy')
    m = build_method('musc', preset='fast', image_size=64, score_border=0, device='cpu').fit(None)
    def boom(*a, **k): raise RuntimeError('no shares')
    monkeypatch.setattr(musc, 'symmetry_shares', boom)
    with pytest.raises(RuntimeError, match='no shares'): m.predict(AnomalyDataset(data.test, m.transform))
    assert m.graph.symmetries == 1 and m.symmetries_used is None
