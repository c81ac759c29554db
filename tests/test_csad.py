"CSAD: the whole detector exported as one graph (ONNX and OpenVINO give PyTorch's scores), and its bad input."
import numpy as np
import pytest
import torch
from iadnb.core import build_method, ConfigError, DataError
from iadnb.data import AnomalyDataset, load_category


@pytest.fixture(scope='module')
def tiny_csad(tmp_path_factory):
    from iadnb.synthloco import ensure_synthloco
    root = ensure_synthloco(tmp_path_factory.mktemp('sl') / 'sl', preset='tiny', categories=['pushpins'], n_jobs=1, progress=False)
    cat = load_category('synthloco', root, 'pushpins')
    m = build_method('csad', preset='tiny', device='cpu', steps=20, seg_epochs=4)   # soft histograms (the default): the argmax path is exported in the T5 notebook's test
    m.fit(AnomalyDataset(cat.train, m.transform), AnomalyDataset(cat.validation, m.transform))
    return m, cat


@pytest.mark.parametrize('fmt', ['onnx', 'openvino'])
def test_export_gives_the_pytorch_scores(tiny_csad, tmp_path, fmt):
    from iadnb.export import export_model, load_export, compare_export
    m, cat = tiny_csad
    path = export_model(m, tmp_path / 'csad', fmt)
    r = compare_export(m, load_export(path), cat.test)
    assert r['max_abs_score_diff'] < 1e-4 and r['max_abs_map_diff'] < 1e-4, r      # CSAD's scores are sums of z-scores
    assert round(r['auroc_torch'], 4) == round(r['auroc_export'], 4), r


def test_branches_fuse_and_files_hold_no_backbone(tiny_csad, tmp_path):
    from iadnb.core import AnomalyModel
    m, cat = tiny_csad
    test = AnomalyDataset(cat.test, m.transform)
    p = m.predict(test)
    b, n = p.extras['bank_scores'], m.graph.norms.numpy()
    np.testing.assert_allclose(b['csad'], (b['patchhist'] - n[4]) / n[5] + (b['lgst'] - n[6]) / n[7], rtol=1e-5, atol=1e-5)
    m2 = AnomalyModel.load(m.save(tmp_path / 'c.pt'), device='cpu')
    np.testing.assert_allclose(m2.predict(test).scores, p.scores, rtol=1e-5, atol=1e-5)
    assert m2.graph.hist_temperature == m.graph.hist_temperature == 0.05      # the fitted histograms' temperature travels with the file
    ck = torch.load(tmp_path / 'c.pt', weights_only=True); del ck['hparams']['hist_temperature']; torch.save(ck, tmp_path / 'old.pt')
    assert AnomalyModel.load(tmp_path / 'old.pt', device='cpu').graph.hist_temperature == 0   # files older than the option were fitted on argmax
    ck = torch.load(tmp_path / 'c.pt', weights_only=True); ck['state']['hist_temperature'] = 0.05; torch.save(ck, tmp_path / 'v2.pt')
    assert AnomalyModel.load(tmp_path / 'v2.pt', device='cpu').graph.hist_temperature == 0.05    # files that also stored it as state
    assert (tmp_path / 'c.pt').stat().st_size < 30e6     # the backbone is rebuilt from its weights, not stored
    parts = m.segment(test)
    assert parts.shape == (len(test), 256, 256) and int(parts.max()) < m.n_classes


def test_bad_input(tiny_csad, tmp_path):
    m, cat = tiny_csad
    fake = tmp_path / 'sam.pth'; torch.save({'w': torch.zeros(3)}, fake)
    bad = build_method('csad', preset='tiny', device='cpu', sam_checkpoint=str(fake))
    with pytest.raises(ConfigError, match='is not a SAM checkpoint'): bad.fit(AnomalyDataset(cat.train, bad.transform))
    few = build_method('csad', preset='tiny', device='cpu')
    with pytest.raises(DataError, match='at least 4 training images'):
        few.fit(AnomalyDataset(cat.train[:3], few.transform), AnomalyDataset(cat.validation, few.transform))
