"""Pages made at build time from the files they describe, so the site cannot drift from them (mkdocs-gen-files):
the configuration reference from conf/ and its comments, the seed's reproduction table from README.md (its one
home), bench/RESULTS.md and the figures in bench/figures."""

from pathlib import Path

import mkdocs_gen_files

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
REPRODUCTION_HEADING = "## The 28th-place solution, as published"


def leading_comment(text: str) -> str:
    """The comment block a config file opens with (after any `# @package` line), as prose."""
    lines = [line for line in text.splitlines() if not line.startswith("# @package")]
    comment = []
    for line in lines:
        if not line.startswith("#"):
            break
        comment.append(line.lstrip("#").strip())
    return " ".join(comment)


def option_section(path: Path, heading: str) -> str:
    text = path.read_text()
    about = leading_comment(text)
    return f"## `{heading}`\n\n{about}\n\n```yaml\n{text.rstrip()}\n```\n"


def group_page(group: Path) -> str:
    options = sorted(group.rglob("*.yaml"))
    names = [str(p.relative_to(group).with_suffix("")) for p in options]
    intro = (
        f"# `{group.name}`\n\nFile `conf/{group.name}/`. Choose one with `{group.name}=<option>` on the command "
        f"line: {', '.join(f'`{n}`' for n in names)}. Any key below is set with `{group.name}.<key>=<value>`.\n\n"
    )
    return intro + "\n".join(option_section(p, n) for p, n in zip(options, names))


def task_page(path: Path) -> str:
    return (
        f"# `{path.name}`\n\nFile `conf/{path.name}`: the settings `{path.stem}.py` composes from, with the groups it "
        f"picks by default. Any key is set on the command line as `key=value`.\n\n"
        f"```yaml\n{path.read_text().rstrip()}\n```\n"
    )


def configuration_reference() -> None:
    groups = sorted(p for p in CONF.iterdir() if p.is_dir())
    tasks = sorted(CONF.glob("*.yaml"))
    index = ["# Every configuration file\n", "Made from `conf/` when the site is built.\n", "## Tasks\n"]
    index += [f"- [`{p.name}`]({p.stem}.md)" for p in tasks]
    index += ["\n## Groups\n"] + [f"- [`{g.name}`]({g.name}.md)" for g in groups]
    with mkdocs_gen_files.open("reference/conf/index.md", "w") as page:
        page.write("\n".join(index) + "\n")
    for path in tasks:
        with mkdocs_gen_files.open(f"reference/conf/{path.stem}.md", "w") as page:
            page.write(task_page(path))
    for group in groups:
        with mkdocs_gen_files.open(f"reference/conf/{group.name}.md", "w") as page:
            page.write(group_page(group))


def readme_section(heading: str) -> str:
    """One `## ` section of README.md, without its heading."""
    text = (ROOT / "README.md").read_text()
    start = text.index(heading) + len(heading)
    end = text.find("\n## ", start)
    return text[start : end if end != -1 else None].strip()


def seed_recipe() -> None:
    with mkdocs_gen_files.open("explanation/seed-recipe.md", "w") as page:
        page.write(
            "# The seed recipe and its reproduction\n\n"
            + (ROOT / "docs" / "explanation" / "seed-recipe.intro.md").read_text()
            + "\n## What is theirs and what is ours\n\n"
            + readme_section(REPRODUCTION_HEADING)
            + "\n"
        )


def bench_results() -> None:
    with mkdocs_gen_files.open("reference/results.md", "w") as page:
        page.write(
            "# Bench results\n\nbench/RESULTS.md as it stands: every figure with the command, date, machine and "
            "commit that made it.\n\n" + (ROOT / "bench" / "RESULTS.md").read_text().split("\n", 1)[1]
        )
    for figure in sorted((ROOT / "bench" / "figures").glob("*.png")):
        with mkdocs_gen_files.open(f"figures/{figure.name}", "wb") as out:
            out.write(figure.read_bytes())


configuration_reference()
seed_recipe()
bench_results()
