"EfficientAD / PUAD from the user's side: bad input is refused before any training, naming the file or folder and the fix; a cached teacher changes nothing."
import pytest
import torch
from iadnb.core import build_method, DataError, ModelFileError
from iadnb.data import AnomalyDataset, load_category, make_toy_dataset
from iadnb.pdn import pdn, load_released, QUANTILE_KEYS, AutoEncoder


@pytest.fixture(scope='module')
def toy(tmp_path_factory):
    d = tmp_path_factory.mktemp('ead')
    return load_category('mvtec_ad', make_toy_dataset(d / 'toy', 'mvtec_ad', n_train=8, n_good=1, n_bad=1, size=64), 'toy'), d


def _fit(toy, **hp):
    data, _ = toy
    m = build_method('efficientad', preset='tiny', device='cpu', **hp)
    return m.fit(AnomalyDataset(data.train, m.transform))


def test_empty_pool_names_the_folder_and_the_fix(toy, tmp_path, monkeypatch):
    monkeypatch.setenv('IADNB_CACHE', str(tmp_path / 'cache'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(DataError, match=r'image pool is empty \(looked in: .*empty.*IADNB_IMAGES'): _fit(toy, pool=str(tmp_path / 'empty'))
    with pytest.raises(DataError, match='does not exist'): _fit(toy, pool=str(tmp_path / 'nowhere'))


def test_too_few_validation_images(toy):
    data, _ = toy
    m = build_method('efficientad', preset='tiny', device='cpu')
    with pytest.raises(DataError, match='at least 2 validation images'):
        m.fit(AnomalyDataset(data.train, m.transform), AnomalyDataset(data.train[:1], m.transform))


def test_teacher_file_of_another_architecture(toy, tmp_path):
    torch.save(pdn('s', 384, padding=True).state_dict()['0.weight'][:, :1], tmp_path / 'broken.pt')     # not a network at all
    with pytest.raises(ModelFileError, match='broken.pt'): _fit(toy, teacher=str(tmp_path / 'broken.pt'))
    torch.save(AutoEncoder().state_dict(), tmp_path / 'ae.pt')                                           # the wrong network
    with pytest.raises(ModelFileError, match=r'ae.pt does not fit a Sequential of this size: tensor 0 is'): _fit(toy, teacher=str(tmp_path / 'ae.pt'))
    with pytest.raises(ModelFileError, match='missing.pt does not exist'): _fit(toy, teacher=str(tmp_path / 'missing.pt'))


def test_released_folder_without_sigma(tmp_path):
    cat = tmp_path / 's_size' / 'mvtec_ad' / 'grid'; cat.mkdir(parents=True); (tmp_path / 's_size' / 'teacher').mkdir()
    torch.save(pdn('s', 384).state_dict(), tmp_path / 's_size' / 'teacher' / 'teacher.pt')
    torch.save(pdn('s', 768).state_dict(), cat / 'student.pt'); torch.save(AutoEncoder().state_dict(), cat / 'autoencoder.pt')
    torch.save(torch.zeros(384), cat / 'mu.pt'); torch.save(dict(zip(QUANTILE_KEYS, [0., 1., 0., 1.])), cat / 'quantile.pt')
    with pytest.raises(ModelFileError, match=r'sigma.pt is missing: the standard deviation of the teacher'): load_released(tmp_path, 'grid')
    torch.save(torch.ones(383), cat / 'sigma.pt')
    with pytest.raises(ModelFileError, match=r'sigma.pt should hold the standard deviation of 384'): load_released(tmp_path, 'grid')
    torch.save(torch.ones(384), cat / 'sigma.pt')
    assert load_released(tmp_path, 'grid')['t_std'].shape == (384,)
    with pytest.raises(ModelFileError, match=r'm_size does not exist'): load_released(tmp_path, 'grid', size='m')


def test_a_cached_teacher_trains_the_same_networks(toy, tmp_path, monkeypatch):
    # the first fit distils the teacher (drawing random numbers), the second loads it from the cache (drawing none)
    monkeypatch.setenv('IADNB_CACHE', str(tmp_path / 'cache'))
    pool = make_toy_dataset(tmp_path / 'pool', 'mvtec_ad', n_train=12, n_good=1, n_bad=1, size=64)
    data, _ = toy
    fresh, cached = (_fit(toy, pool=str(pool)) for _ in range(2))
    assert fresh.teacher_info['file'] == cached.teacher_info['file']
    test = AnomalyDataset(data.test, fresh.transform)
    assert torch.equal(torch.as_tensor(fresh.predict(test).scores), torch.as_tensor(cached.predict(test).scores))


def test_a_map_left_out_stays_out_through_save_load_and_onnx(toy, tmp_path, monkeypatch):
    "An unlearned autoencoder (its skill stubbed) is named and its map left out: it cannot move a score, in PyTorch, after loading or in ONNX."
    import iadnb.methods.efficientad as ead
    from iadnb.core import AnomalyModel
    from iadnb.export import export_onnx, load_export, compare_export
    monkeypatch.setenv('IADNB_CACHE', str(tmp_path / 'cache'))
    monkeypatch.setattr(ead, 'map_skill', lambda graph, images, batch_size=8: {'student_teacher': .5, 'autoencoder': .01})
    pool = make_toy_dataset(tmp_path / 'pool', 'mvtec_ad', n_train=4, n_good=1, n_bad=1, size=64)
    data, _ = toy
    with pytest.warns(UserWarning, match=r'the autoencoder map is left out of the score.*min_skill=0.1'): m = _fit(toy, pool=str(pool), min_skill=0.1)
    assert m.graph.keep_maps.tolist() == [1., 0.]
    test = AnomalyDataset(data.test, m.transform); before = m.predict(test).scores
    with torch.no_grad(): m.graph.autoencoder.head[-1].bias.add_(5.)      # a different autoencoder map ...
    assert torch.allclose(torch.as_tensor(m.predict(test).scores), torch.as_tensor(before))   # ... leaves the scores alone
    m.graph.keep_maps.fill_(1)
    assert not torch.allclose(torch.as_tensor(m.predict(test).scores), torch.as_tensor(before))  # kept, it moves them
    m.graph.keep_maps.copy_(torch.tensor([1., 0.]))
    m2 = AnomalyModel.load(m.save(tmp_path / 'm.pt'), device='cpu')     # net_state shares the graph's tensors: the shifted autoencoder
    assert m2.graph.keep_maps.tolist() == [1., 0.] and m2.map_skill == m.map_skill
    assert torch.allclose(torch.as_tensor(m2.predict(test).scores), torch.as_tensor(before))
    diff = compare_export(m2, load_export(export_onnx(m2, tmp_path / 'm.onnx')), data.test)
    assert diff['max_abs_map_diff'] < 1e-4 and diff['max_score_diff_per_std'] < 1e-4, diff
    del m.net_state['keep_maps']; m.map_skill = None                    # a file saved before the rule: both maps
    assert AnomalyModel.load(m.save(tmp_path / 'old.pt'), device='cpu').graph.keep_maps.tolist() == [1., 1.]
