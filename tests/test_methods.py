"Methods from the user's side: a method from another package, presets deciding what the caller leaves out, PSAD on a VisA layout."
import json, os, subprocess, sys, textwrap
import numpy as np
import pytest
from PIL import Image
from iadnb.core import available_methods, build_method
from iadnb.data import make_toy_dataset, load_category, AnomalyDataset
from iadnb.results import CategoryResult

PLUGIN = '''
import numpy as np
from iadnb.core import AnomalyModel, Prediction
from iadnb.data import ImageTransform

class RedExcess(AnomalyModel):
    "Scores an image by its largest excess of red over the other channels (the toy anomalies are red squares)."
    presets = {'paper': {}, 'fast': {}}
    _state_keys = ('ref',)
    def __init__(self, image_size=64, device='cpu', seed=0): super().__init__(image_size=image_size, device=device, seed=seed)
    @property
    def transform(self): return ImageTransform(self.hparams['image_size'], mean=(0, 0, 0), std=(1, 1, 1))
    def _excess(self, data):
        return np.array([(lambda x: (x[0] - x[1:].mean(0)).max())(data[i]['image'].numpy()) for i in range(len(data))])
    def fit(self, train, val=None): self.ref = float(self._excess(train).mean()); self.fitted = True; return self
    def predict(self, data): return Prediction(self._excess(data) - self.ref)
'''

def _plugin(tmp_path):
    "A package outside iadnb that registers a method through the `iadnb.methods` entry-point group."
    site = tmp_path / 'site'; (site / 'redplug').mkdir(parents=True)
    (site / 'redplug' / '__init__.py').write_text(textwrap.dedent(PLUGIN))
    dist = site / 'redplug-0.1.dist-info'; dist.mkdir()
    (dist / 'METADATA').write_text('Metadata-Version: 2.1\nName: redplug\nVersion: 0.1\n')
    (dist / 'entry_points.txt').write_text('[iadnb.methods]\nredexcess = redplug:RedExcess\n')
    return {**os.environ, 'PYTHONPATH': os.pathsep.join([str(site), os.environ.get('PYTHONPATH', '')]), 'IADNB_PROGRESS': '0'}


def test_third_party_method_through_the_cli(tmp_path):
    "An installed package's method is found by name (entry point), evaluated by `iadnb eval`, and listed."
    env = _plugin(tmp_path)
    toy = make_toy_dataset(tmp_path / 'toy', 'folder', n_train=6, n_good=3, n_bad=3, size=64)
    r = subprocess.run([sys.executable, '-m', 'iadnb.cli', 'eval', '--method', 'redexcess', '--dataset', 'folder', '--data-root', str(toy),
                        '--categories', 'toy', '--device', 'cpu', '--out-dir', str(tmp_path / 'res')],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((tmp_path / 'res' / 'results.json').read_text())
    assert res['config']['method'] == 'redexcess' and res['results'][0]['method'] == 'redexcess'
    assert res['results'][0]['image_auroc'] == 1.0          # the red squares are the only red excess
    listed = subprocess.run([sys.executable, '-c', 'from iadnb.core import available_methods; print(available_methods())'],
                            capture_output=True, text=True, env=env, timeout=120).stdout
    assert 'redexcess' in listed and 'patchcore' in listed
    assert 'redexcess' not in available_methods()           # this process has no such package: nothing leaks


def test_builtin_methods_are_found_by_name():
    assert {'patchcore', 'padim', 'spade', 'psad'} <= set(available_methods())
    with pytest.raises(KeyError, match='Unknown method'): build_method('patchcores')


def test_evaluate_psad_paper_preset_builds_at_512(tmp_path, monkeypatch):
    "`evaluate('psad', preset='paper')` builds PSAD at the paper's 512 px: no evaluate default overrides the preset."
    import iadnb.evaluate as ev
    built = []
    def record(model, data, *, pixel=True):
        built.append(model)
        return CategoryResult(data.dataset, data.category, model.name, [0., 1.], [0, 1], ['good', 'x'], ['a', 'b'],
                              metrics={'image_auroc': 1.}, timings={'fit_s': 0., 'predict_img_s': 1.})
    monkeypatch.setattr(ev, 'evaluate_category', record)
    root = make_toy_dataset(tmp_path, 'mvtec_loco')
    res = ev.evaluate('psad', dataset='mvtec_loco', data_root=root, preset='paper', device='cpu', out_dir=None)
    assert built[0].hparams['image_size'] == 512 and res.config['image_size'] == 512 and res.config['preset'] == 'paper'
    res = ev.evaluate('patchcore', dataset='mvtec_loco', data_root=root, preset='fast', device='cpu', out_dir=None, backbone='tf_efficientnet_lite1')
    assert built[-1].hparams['backbone'] == 'tf_efficientnet_lite1' == res.config['backbone']


def test_psad_on_a_visa_layout_with_user_labels(tmp_path):
    "VisA keeps images in Data/Images/Normal: PSAD finds the category's label folder by `Sample.category`, not by folder depth."
    root = make_toy_dataset(tmp_path / 'visa', 'visa', category='candle', n_train=8, n_good=3, n_bad=3, size=64)
    data = load_category('visa', root, 'candle')
    ann = tmp_path / 'labels' / 'candle'; ann.mkdir(parents=True)
    for s in data.train[2:5]:                                 # three label maps, named like their images
        lm = np.zeros((64, 64), np.uint8); lm[:, :20] = 1; lm[48:, 20:] = 2
        Image.fromarray(lm).save(ann / f'{s.path.stem}.png')
    m = build_method('psad', preset='fast', annotations=str(tmp_path / 'labels'), stage1_epochs=2, aug_copies=2, n_shot=3,
                     image_size=64, patch_image_size=64, device='cpu')
    pred = m.fit(AnomalyDataset(data.train, m.transform)).predict(AnomalyDataset(data.test, m.transform))
    assert sorted(m.shots) == [2, 3, 4] and m.n_classes == 3
    assert pred.scores.shape == (len(data.test),) and np.isfinite(pred.scores).all()
    assert pred.extras['parts'].shape == (len(data.test), 64, 64) and set(np.unique(pred.extras['parts'])) <= {0, 1, 2}
