import os
import sys

import pytest

# never wait on the Hugging Face hub in tests: offline mode fails at once instead of retrying ~23 s
os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('HF_DATASETS_OFFLINE', '1')
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def pytest_configure(config):
    config.addinivalue_line('markers', 'numeric: fp32 numbers against a float64 reference '
                            'within fp32 rounding (tests/helpers.py); make test-numeric runs '
                            'them on every BLAS/CPU path')


@pytest.fixture(scope='module')
def one_thread():
    """Tiny models are all small ops: one thread is faster than two, and two-thread spin-waits crawl on a busy
    2-core machine. Opt in with pytestmark = pytest.mark.usefixtures('one_thread'); torch is imported here so that
    tests which don't use it don't pay for the import. UNISCALE_TEST_THREADS overrides the 1
    (make test-numeric runs with 1 and 2: threads can split a kernel's sums another way)."""
    import torch
    n = torch.get_num_threads()
    torch.set_num_threads(int(os.environ.get('UNISCALE_TEST_THREADS', '1')))
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope='session')
def tok_dir(tmp_path_factory):
    """A 400-id BPE trained once per session (tests/helpers.py), for the eval and sample tests."""
    from helpers import train_small_bpe
    return train_small_bpe(str(tmp_path_factory.mktemp('tok') / 'bpe-400'))


@pytest.fixture(scope='session')
def tok(tok_dir):
    from uniscale import tokenization
    return tokenization.load_tokenizer(tok_dir)
