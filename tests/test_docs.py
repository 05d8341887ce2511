"""The documentation site builds without a warning, its generated reference follows conf/, and README's links
lead somewhere."""

import os
import re
import subprocess
import sys

from conftest import PROJECT


def test_the_site_builds_strictly_and_documents_every_config_file(tmp_path):
    site = tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},  # Material's notice about MkDocs' future
    )
    assert build.returncode == 0, build.stderr
    for group in (p for p in (PROJECT / "conf").iterdir() if p.is_dir()):
        page = (site / "reference" / "conf" / group.name / "index.html").read_text()
        for option in group.rglob("*.yaml"):
            assert option.stem in page, (group.name, option.stem)
    loss_page = (site / "reference" / "conf" / "loss" / "index.html").read_text()
    assert "BCEWithLogitsOfProbabilities" in loss_page and "a sigmoid applied twice" in loss_page  # its comments
    seed_page = (site / "explanation" / "seed-recipe" / "index.html").read_text()
    assert "BAD_TRAIN_IMAGES" in seed_page  # README's reproduction table, carried over
    assert (site / "figures" / "survey_bodies.png").stat().st_size > 0


def test_readmes_links_to_files_exist():
    readme = (PROJECT / "README.md").read_text()
    links = [link for link in re.findall(r"\]\(([^)#]+)\)", readme) if "://" not in link]
    assert links, "README links to the documentation"
    missing = [link for link in links if not (PROJECT / link).exists()]
    assert not missing, missing
