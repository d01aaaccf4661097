"""config/gunicorn.conf.py: a worker freezes what it loaded and collects young garbage less often."""

import gc
import runpy
from pathlib import Path

import pytest

CONF = Path(__file__).resolve().parents[2] / "config" / "gunicorn.conf.py"


@pytest.fixture
def restore_gc():
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_a_worker_freezes_what_it_loaded_and_raises_the_threshold(restore_gc):
    conf = runpy.run_path(str(CONF))
    assert gc.get_freeze_count() == 0

    conf["post_worker_init"](worker=None)

    assert gc.get_freeze_count() > 10_000  # Django, the apps and the test run's own objects
    assert gc.get_threshold() == conf["GC_THRESHOLD"]
    assert conf["GC_THRESHOLD"][0] > 700  # fewer collections than Python's default


def test_gunicorn_takes_the_hook_from_the_file():
    from gunicorn.app.base import Application

    class App(Application):
        def load_config(self):  # the file alone, not this process's command line
            self.load_config_from_file(str(CONF))

        def load(self):
            return None

    hook = App().cfg.post_worker_init
    assert hook.__name__ == "post_worker_init"
    assert hook.__code__.co_filename == str(CONF)
