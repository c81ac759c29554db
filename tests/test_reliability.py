"""Nothing silently wrong, nothing lost, nothing run from a model file: every bad input and fault a demanding user
tried (issue 13) gets a clear error or an explicit warning, before any fitting where the input is at fault.

Each test names the finding it reproduces. Data: `iadnb.data.make_toy_dataset` (tiny MVTec-layout folders)."""
import json, os, shutil, warnings
import numpy as np
import pytest
import torch
from PIL import Image
from hypothesis import given, settings, strategies as st, HealthCheck
import iadnb.evaluate as ev
from iadnb.core import (AnomalyModel, ConfigError, DataError, ModelFileError, build_method, encode_state, decode_state,
                        atomic_path)
from iadnb.data import make_toy_dataset, load_image, load_category, check_category, AnomalyDataset, MIN_IMAGE_SIDE

FAST = dict(preset='fast', image_size=32, device='cpu')


@pytest.fixture
def toy(tmp_path):
    "A tiny MVTec AD layout <tmp>/ad/toy with two defect types and their masks."
    return make_toy_dataset(tmp_path / 'ad', 'mvtec_ad', n_train=4, n_good=2, n_bad=2, size=32)


@pytest.fixture
def no_fit(monkeypatch):
    "Fail the test if any model is fitted: input errors must be found before."
    def _fit(*a, **k): raise AssertionError('a model was fitted although the input is bad')
    monkeypatch.setattr(ev, 'evaluate_category', _fit)


def _run(root, **kw):
    return ev.evaluate('patchcore', dataset='mvtec_ad', data_root=root, **{**FAST, 'out_dir': None, **kw})


# --- silent wrong results --------------------------------------------------------------------------------------------

def test_missing_mask_is_an_error_before_fitting(toy, no_fit):
    (toy / 'toy' / 'ground_truth' / 'stain' / '000_mask.png').unlink()
    with pytest.raises(DataError, match=r"1 of 4 defective test images of toy have no mask .*test/stain/000.png.*pixel=False"):
        _run(toy)


def test_bench_checks_its_input_before_any_child_process(toy, monkeypatch):
    "bench runs each configuration in a child process: the same input check as evaluate, before the first one."
    import iadnb.bench as bench_mod
    monkeypatch.setattr(bench_mod, 'run_child', lambda *a, **k: pytest.fail('a child process ran although the input is bad'))
    (toy / 'toy' / 'ground_truth' / 'stain' / '000_mask.png').unlink()
    with pytest.raises(DataError, match=r"1 of 4 defective test images of toy have no mask"):
        bench_mod.bench('patchcore', dataset='mvtec_ad', data_root=toy, categories='toy', device='cpu')


def test_missing_masks_allowed_when_pixel_false_is_explicit(toy, monkeypatch):
    shutil.rmtree(toy / 'toy' / 'ground_truth')
    with pytest.raises(DataError, match='none of the 4 defective test images of toy has a mask'): _run(toy)
    res = _run(toy, pixel=False)
    assert res.config['pixel'] is False and 'pixel_auroc' not in res['toy'].metrics


def test_all_zero_mask_of_a_defective_image_warns(toy):
    m = toy / 'toy' / 'ground_truth' / 'crack' / '001_mask.png'
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(m)
    with pytest.warns(UserWarning, match=r'mask of defective image .*crack/001.png is all zero'):
        _run(toy)


@pytest.mark.parametrize('typo, hint', [('coreset_ration', 'coreset_ratio'), ('blur_sgima', 'blur_sigma'), ('imagesize', 'image_size')])
def test_misspelt_hyperparameter_names_the_closest(typo, hint, toy, no_fit):
    with pytest.raises(ConfigError, match=f"no hyper-parameter '{typo}' \\(did you mean '{hint}'"):
        build_method('patchcore', preset='fast', **{typo: 1})
    with pytest.raises(ConfigError, match=f"did you mean '{hint}'"): _run(toy, hparams={typo: 1})


def test_unknown_hyperparameter_without_a_close_name_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="PaDiM has no hyper-parameter 'zzz'; its hyper-parameters are: .*d_reduced"):
        build_method('padim', zzz=1)


def _random_weights(path, seed):
    import timm
    torch.manual_seed(seed)
    torch.save(timm.create_model('resnet18').state_dict(), path)


def test_model_loaded_with_other_backbone_weights_is_refused(toy, tmp_path, monkeypatch):
    (tmp_path / 'a').mkdir(); (tmp_path / 'b').mkdir()
    _random_weights(tmp_path / 'a' / 'resnet18.pth', 0); _random_weights(tmp_path / 'b' / 'resnet18.pth', 1)
    monkeypatch.setenv('IADNB_WEIGHTS', str(tmp_path / 'a'))
    data = load_category('mvtec_ad', toy, 'toy')
    m = build_method('patchcore', backbone='resnet18', **FAST)            # weights='auto': resolves to a/resnet18.pth
    m.fit(AnomalyDataset(data.train, m.transform)).save(tmp_path / 'm.pt')
    AnomalyModel.load(tmp_path / 'm.pt')                                 # same weights: fine
    monkeypatch.setenv('IADNB_WEIGHTS', str(tmp_path / 'b'))            # another machine, another file
    with pytest.raises(ModelFileError, match=r"m.pt was fitted with other backbone weights .*fitted sha256:\w+, now sha256:\w+"):
        AnomalyModel.load(tmp_path / 'm.pt')
    AnomalyModel.load(tmp_path / 'm.pt', check_weights=False)           # the user's explicit choice


def test_tiny_training_image_is_an_error_before_fitting(toy, no_fit):
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(toy / 'toy' / 'train' / 'good' / '002.png')
    with pytest.raises(DataError, match=rf"train/good/002.png is 1x1 px, smaller than {MIN_IMAGE_SIDE} px"): _run(toy)


def test_padim_refuses_nan_features_at_fit(toy, tmp_path):
    import timm
    sd = timm.create_model('resnet18').state_dict(); sd['conv1.weight'][0, 0, 0, 0] = float('nan')
    torch.save(sd, tmp_path / 'nan.pth')
    m = build_method('padim', backbone='resnet18', weights=str(tmp_path / 'nan.pth'), **{**FAST, 'preset': 'paper'})
    with pytest.raises(FloatingPointError, match='PaDiM training features hold .* NaN'):
        m.fit(AnomalyDataset(load_category('mvtec_ad', toy, 'toy').train, m.transform))


# --- data lost --------------------------------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def fitted(tmp_path_factory):
    root = make_toy_dataset(tmp_path_factory.mktemp('fit') / 'ad', 'mvtec_ad', n_train=4, n_good=2, n_bad=2, size=32)
    data = load_category('mvtec_ad', root, 'toy')
    m = build_method('patchcore', **FAST)
    return m.fit(AnomalyDataset(data.train, m.transform)), AnomalyDataset(data.test, m.transform)


def test_failed_save_keeps_the_previous_model(fitted, tmp_path, monkeypatch):
    m, test = fitted
    path = m.save(tmp_path / 'model.pt'); before = path.read_bytes()
    def half_then_full(obj, f, *a, **k):
        open(f, 'wb').write(before[:1000]); raise OSError(28, 'No space left on device')
    monkeypatch.setattr(torch, 'save', half_then_full)
    with pytest.raises(OSError, match='No space left'): m.save(path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ['model.pt']
    monkeypatch.undo()
    np.testing.assert_allclose(AnomalyModel.load(path).predict(test).scores, m.predict(test).scores)


def test_out_dir_of_another_run_is_refused_then_replaced(toy, tmp_path):
    out = tmp_path / 'out'; out.mkdir(); (out / 'scores_other.csv').write_text('stale'); (out / 'notes.txt').write_text('mine')
    with pytest.raises(DataError, match=r'holds a previous run \(scores_other.csv\).*overwrite=True'): _run(toy, out_dir=out)
    res = _run(toy, out_dir=out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ['notes.txt', 'results.csv', 'results.json', 'scores_toy.csv']
    assert json.loads((out / 'results.json').read_text())['status'] == 'complete' and res.out_dir == out


def test_a_failing_category_keeps_the_others(tmp_path, monkeypatch):
    root = tmp_path / 'ad'
    for cat in ('a', 'b', 'c'): make_toy_dataset(root, 'mvtec_ad', category=cat, n_train=4, n_good=2, n_bad=2, size=32)
    real = ev.evaluate_category
    def flaky(model, data, **kw):
        if data.category == 'b': raise MemoryError('out of memory in b')
        return real(model, data, **kw)
    monkeypatch.setattr(ev, 'evaluate_category', flaky)
    with pytest.raises(ev.CategoryFailures, match=r"1 of 3 categories failed \(b\): b: MemoryError: out of memory in b") as e:
        _run(root, out_dir=tmp_path / 'out')
    js = json.loads((tmp_path / 'out' / 'results.json').read_text())
    assert js['status'] == 'partial' and list(js['failures']) == ['b'] and [r['category'] for r in js['results']] == ['a', 'c']
    assert (tmp_path / 'out' / 'scores_c.csv').is_file() and 'MemoryError' in (tmp_path / 'out' / 'errors.log').read_text()
    assert sorted(e.value.result.categories) == ['a', 'c']


# --- model files --------------------------------------------------------------------------------------------------------

class _Payload:
    "What a hostile model file would carry: unpickling it runs code (here: writes a marker file)."
    def __init__(self, marker): self.marker = marker
    def __reduce__(self): return (open, (self.marker, 'w'))


def test_pickled_payload_is_refused_without_running(fitted, tmp_path):
    m, _ = fitted
    ck = torch.load(m.save(tmp_path / 'ok.pt'), weights_only=True)
    ck['state']['bank'] = _Payload(str(tmp_path / 'PWNED'))
    torch.save(ck, tmp_path / 'evil.pt')
    with pytest.raises(ModelFileError, match=r'refused to load .*evil.pt: it holds pickled Python objects'):
        AnomalyModel.load(tmp_path / 'evil.pt')
    assert not (tmp_path / 'PWNED').exists()


def test_model_file_cannot_name_a_module_to_import(fitted, tmp_path):
    m, _ = fitted
    ck = torch.load(m.save(tmp_path / 'ok.pt'), weights_only=True); ck['method'] = 'os.system'
    torch.save(ck, tmp_path / 'other.pt')
    with pytest.raises(ModelFileError, match=r"saved by method 'os.system', which is not available here"):
        AnomalyModel.load(tmp_path / 'other.pt')


@pytest.mark.parametrize('damage', ['truncated', 'empty', 'text', 'missing'])
def test_corrupt_model_files_name_the_file(fitted, tmp_path, damage):
    m, _ = fitted
    p = m.save(tmp_path / 'm.pt'); raw = p.read_bytes()
    if damage == 'truncated': p.write_bytes(raw[:len(raw) // 2])
    elif damage == 'empty': p.write_bytes(b'')
    elif damage == 'text': p.write_text('{"not": "a model"}')
    else: p.unlink()
    with pytest.raises(ModelFileError, match=r'm\.pt'): AnomalyModel.load(p)


def test_saving_state_that_only_a_pickle_could_hold_is_refused(fitted, tmp_path):
    m, _ = fitted
    m.bank_groups = lambda: None
    try:
        with pytest.raises(TypeError, match=r"state\['bank_groups'\] is a .*function.*plain data only"): m.save(tmp_path / 'm.pt')
    finally: m.bank_groups = torch.zeros(len(m.bank), dtype=torch.int32)
    assert not (tmp_path / 'm.pt').exists()


# --- late errors: all input problems found before fitting, all at once --------------------------------------------------

def test_every_input_problem_reported_at_once_before_fitting(toy, no_fit):
    cat = toy / 'toy'
    raw = (cat / 'test' / 'good' / '000.png').read_bytes(); (cat / 'test' / 'good' / '000.png').write_bytes(raw[:50])
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(cat / 'ground_truth' / 'crack' / '000_mask.png')
    (cat / 'train' / 'good' / '003.png').write_text('not an image')
    with pytest.raises(DataError) as e: _run(toy)
    msg = str(e.value)
    assert msg.startswith('3 problems in the input; nothing was fitted')
    for needle in ['cannot read image', 'test/good/000.png', 'crack/000_mask.png is 8x8', 'train/good/003.png']: assert needle in msg


def test_test_split_with_one_class(toy, no_fit):
    for d in ('test/stain', 'test/crack', 'ground_truth'): shutil.rmtree(toy / 'toy' / d)
    with pytest.raises(DataError, match='holds only good images: an AUROC needs both'): _run(toy)


def test_unwritable_out_dir_before_fitting(toy, tmp_path, no_fit):
    (tmp_path / 'file').write_text('x')                       # a folder cannot be made under a file (root ignores chmod)
    with pytest.raises(DataError, match=r'cannot write to out_dir .*file/out'): _run(toy, out_dir=tmp_path / 'file' / 'out')


def test_data_root_missing_for_a_real_data_set():
    with pytest.raises(DataError, match='needs data_root='): ev.evaluate('patchcore', dataset='mvtec_ad', out_dir=None)


def test_unknown_category_before_fitting(toy, no_fit):
    with pytest.raises(DataError, match="unknown mvtec_ad category 'screw'"): _run(toy, categories='toy,screw')


# --- generated odd inputs (hypothesis) ----------------------------------------------------------------------------------

_arrays = st.builds(lambda shape, kind, seed: np.random.default_rng(seed).normal(size=shape).astype(kind),
                    st.lists(st.integers(0, 4), max_size=3).map(tuple), st.sampled_from(['float32', 'float64', 'int64', 'uint8', 'bool']),
                    st.integers(0, 2**16))
_leaves = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=False), st.text(max_size=8), _arrays,
                    st.builds(lambda a: torch.from_numpy(a.copy()), _arrays))
_states = st.recursive(_leaves, lambda c: st.one_of(st.lists(c, max_size=3), st.tuples(c, c),
                                                   st.dictionaries(st.text(min_size=1, max_size=5), c, max_size=3)), max_leaves=12)


def _same(a, b):
    if isinstance(a, np.ndarray): return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, torch.Tensor): return isinstance(b, torch.Tensor) and torch.equal(a, b)
    if isinstance(a, dict): return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)): return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    return a == b and type(a) is type(b)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(state=_states)
def test_any_plain_state_round_trips_through_the_safe_loader(state, tmp_path):
    with atomic_path(tmp_path / 's.pt') as t: torch.save(encode_state(state), t)
    assert _same(state, decode_state(torch.load(tmp_path / 's.pt', weights_only=True)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, 10_000), flip=st.integers(0, 10_000), fmt=st.sampled_from(['PNG', 'JPEG', 'BMP', 'TIFF']))
def test_damaged_image_bytes_give_a_data_error_or_an_image(cut, flip, fmt, tmp_path):
    "Truncated or bit-flipped files of every format: a DataError naming the file, or a proper HxWx3 image; nothing else."
    p = tmp_path / f'x.{fmt.lower()}'
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(p, format=fmt)
    raw = bytearray(p.read_bytes())
    raw = raw[:cut % (len(raw) + 1)]
    if raw: raw[flip % len(raw)] ^= 0xFF
    p.write_bytes(bytes(raw))
    try: a = load_image(p)
    except DataError as e: assert str(p) in str(e)
    else: assert a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(h=st.integers(1, 64), w=st.integers(1, 64), mode=st.sampled_from(['RGB', 'L', 'RGBA', 'I;16', 'P', '1']))
def test_any_image_size_and_mode_is_checked_or_refused(h, w, mode, tmp_path_factory):
    root = make_toy_dataset(tmp_path_factory.mktemp('odd') / 'ad', 'mvtec_ad', n_train=2, n_good=1, n_bad=1, size=32)
    Image.new(mode, (w, h)).save(root / 'toy' / 'train' / 'good' / '000.png')
    chk = check_category(load_category('mvtec_ad', root, 'toy'))
    small = min(h, w) < MIN_IMAGE_SIDE
    assert chk.ok is not small
    if small: assert f'is {h}x{w} px' in chk.problems[0]
    elif (h, w) != (32, 32): assert 'come in 2 sizes' in chk.warnings[0]
