"""A benchmark suite file and the layout of its output folder.

A suite is a YAML file (``configs/benchmarks/<name>.yaml``)::

    name: ns2d-cpu
    description: one line
    data:
      generate: {recipe: ns2d-fno, samples: 40, resolution: 32, ...}   # GenerationConfig fields; or path: FILE
      fields: [vorticity]
      split: [0.8, 0.1, 0.1]             # optional: the data module's default split otherwise
      seeds: [0, 7]                      # optional, with generate: one independently generated dataset per seed
    budget: {max_epochs: 20, batch_size: 16}   # the same for every model: max_epochs, max_steps or max_time
    seeds: [0, 1]
    protocol: {context: 10, steps: 10}   # every model sees frames [0, context) and is scored on the next steps
    models:
      FNO:
        configs: [../ns2d/fno.yaml]              # the files users train with, relative to the suite
        overrides: {model.init_args.model.init_args.hidden_channels: 24}
      U-Net:
        configs: [../ns2d/fno.yaml, ../ns2d/unet.yaml]
    compare: [[FNO, U-Net]]              # optional: A / B paired seed by seed (``leaderboard.paired_per_seed``)
    training_metrics: ["train/*"]        # optional: fnmatch patterns over the logged columns
    accuracy: rollout_l2                 # the axis models are ranked and matched to solvers by (``Accuracy``):
                                         # rollout_l2 (default) or correlation_time, or {axis: correlation_time,
                                         # threshold: 0.95}
    solver:                              # optional: the reference solver's sweep (``SolverSpec``)
      grids: [32, 40, 48, 64, 96]        # solve grids (even sizes); default: the stored one / 4, doubled
      schemes: [rk4cn, rk3cn, etdrk4]    # default: the recipe's own
      dtypes: [float32, float64]         # default: float32
      dts: [0.01, 0.02]                  # fixed steps; default: the file's dt doubled up to the frame interval
      cfl: [0.5, 1.0]                    # adaptive steps at these CFL targets ([] for none)
      max_seconds: 60                    # a setting estimated to take longer is skipped
      closure: {order: 2, factors: [1, 4, 16, 64]}   # the hyperviscosity row (Navier–Stokes recipes)
    select:                              # optional: hyperparameters chosen on validation (``Selection``)
      budget: {max_steps: 200}           # the bracket runs' budget (default: the suite's)
      seed: 0                            # their training seed (default: the suite's first)
      metric: val/rollout_l2             # a logged validation metric, its final value compared (mode: min or max)
      grids:                             # per model: override key -> candidates (their Cartesian product)
        FNO: {model.init_args.optimizer.init_args.lr: [5.0e-4, 1.0e-3, 2.0e-3]}

A model's name is a folder name in the output (``<out>/runs/<model>/seed<k>/``): letters, digits, spaces and
``_ - . , + ( )``, not starting with a dot, and not ``solver`` (the reference solver's folder). Every path the
benchmark writes is checked to lie inside ``<out>`` (``run_dir``).

Datasets: with ``data.seeds``, each data seed k generates its own dataset (``generate`` with ``seed: k``) into its own
folder, ``<out>/data-seed<k>/``, laid out as a suite without data seeds lays out ``<out>`` (``data.h5``, ``runs/``,
its leaderboard); every (model, training seed) runs on each, and ``<out>``'s leaderboard pools them
(``dataset_folders``).

Selection: with ``select``, a model with a grid has its hyperparameters chosen before its main runs, by bracket runs
into ``<out>/select/<model>/<variant>/`` scored on their logged validation metric only
(``pdeops.benchmark.selection``).

Accuracy: every row is scored on every axis; ``accuracy`` says which one ranks the leaderboard and defines "equal
accuracy" for the speed-up. The solver setting a model is matched with, and the closure's coefficient, are chosen on
the suite's validation trajectories, then scored and timed on the test ones (``pdeops.benchmark.solver``).
"""

import csv
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from pdeops.data.datamodule import DEFAULT_SPLIT, split_trajectories
from pdeops.evaluation.work_precision import Accuracy
from solvers import SCHEMES

SUITE_KEYS = {
    "name",
    "description",
    "data",
    "budget",
    "seeds",
    "protocol",
    "models",
    "compare",
    "training_metrics",
    "accuracy",
    "solver",
    "select",
}
SELECT_KEYS = {"budget", "seed", "metric", "mode", "grids"}
SOLVER_KEYS = {"grids", "schemes", "dtypes", "dts", "cfl", "max_seconds", "closure"}
BUDGET_KEYS = {"max_epochs", "max_steps", "max_time", "batch_size"}
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _\-.,+()]{0,99}")
"""A model name: a safe folder name (no path separator, no leading dot, at most 100 characters)."""
SOLVER = "solver"
"""The folder of the reference solver's row and sweep, ``<out>/runs/solver``; no model may take the name."""


@dataclass(frozen=True)
class ModelEntry:
    """One model of a suite: its config files (as users train it) and the suite's overrides, dotted keys."""

    name: str
    configs: tuple[Path, ...]
    overrides: Mapping[str, Any]


@dataclass(frozen=True)
class SolverSpec:
    """The suite's ``solver`` key: the axes of the reference solver's sweep (``work_precision.default_settings``;
    None: its default) and the closure row's candidates.

    Attributes:
        grids: solve grids, points per axis (even sizes; any, not only powers of two).
        schemes: time schemes of ``solvers.SCHEMES``.
        dtypes: ``float32`` and/or ``float64``.
        dts: fixed steps (those past the stability limit are reported as unstable).
        cfl: adaptive steps' CFL targets (empty: no adaptive step).
        max_seconds: a setting estimated to take longer than this is skipped.
        closure_order: p of the closure's hyperviscosity ``ν_h (−Δ)^p``.
        closure_factors: the closure's candidate coefficients, as multiples of the molecular viscous rate at the
            stored grid's dealiasing cutoff k_c: ``ν_h k_c^{2p} = factor · ν k_c²``; the best on validation wins.
    """

    grids: tuple[int, ...] | None = None
    schemes: tuple[str, ...] | None = None
    dtypes: tuple[str, ...] = ("float32",)
    dts: tuple[float, ...] | None = None
    cfl: tuple[float, ...] = (0.5, 1.0)
    max_seconds: float = 60.0
    closure_order: int = 2
    closure_factors: tuple[float, ...] = (1.0, 4.0, 16.0, 64.0)


@dataclass(frozen=True)
class Selection:
    """The suite's ``select`` key: hyperparameters chosen per model on validation, before its main runs.

    Attributes:
        budget: the bracket runs' budget (the suite's with its run length replaced; its batch size unless given).
        seed: the bracket runs' training seed.
        metric: a column the runs log on the validation split (``val/...``); its value at the last logged step is
            compared.
        mode: ``min`` (an error; the default) or ``max``.
        grids: model name → override key (dotted, as in ``overrides``) → its candidate values; the Cartesian product
            of a model's keys is tried, the first key varying slowest.
    """

    budget: Mapping[str, Any]
    seed: int
    metric: str = "val/rollout_l2"
    mode: str = "min"
    grids: Mapping[str, Mapping[str, tuple[Any, ...]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Suite:
    """A benchmark suite, read from YAML by ``load_suite`` (see the module docstring)."""

    path: Path
    name: str
    description: str
    data: Mapping[str, Any]
    budget: Mapping[str, Any]
    seeds: tuple[int, ...]
    context: int
    steps: int
    models: Mapping[str, ModelEntry]
    compare: tuple[tuple[str, str], ...] = ()
    """Pairs (A, B) of the suite's models whose scores the leaderboard compares seed by seed (``paired_per_seed``)."""
    training_metrics: tuple[str, ...] = ()
    """fnmatch patterns over the CSV log's columns that the leaderboard summarises (``training_diagnostics``)."""
    accuracy: Accuracy = Accuracy()
    """The axis the leaderboard ranks by and the equal-accuracy speed-up matches on."""
    solver: SolverSpec = SolverSpec()
    """The reference solver's sweep and closure candidates."""
    select: Selection | None = None
    """Hyperparameters chosen on validation before the main runs (None: the overrides as given)."""
    data_seeds: tuple[int, ...] = ()
    """The generation seeds of independently generated datasets (``data.seeds``); empty: one dataset, as given."""

    def for_data_seed(self, seed: int) -> "Suite":
        """This suite on the dataset generated with ``seed`` (its ``generate.seed``), with no data seeds of its own
        and no ``select`` (the selection is made once, in the whole benchmark's folder, and reported there)."""
        data = {key: value for key, value in self.data.items() if key != "seeds"}
        generate = {**data["generate"], "seed": seed}
        return replace(self, data={**data, "generate": generate}, data_seeds=(), select=None)

    def runs(self, models: Sequence[str] | None = None, seeds: Sequence[int] | None = None) -> list[tuple[str, int]]:
        """The (model, seed) pairs to run, in the suite's order."""
        unknown = sorted(set(models or ()) - set(self.models))
        if unknown:
            raise ValueError(f"{self.path} has no model(s) {unknown}; its models are {sorted(self.models)}.")
        return [(model, seed) for model in (models or list(self.models)) for seed in (seeds or self.seeds)]


def load_suite(path: str | os.PathLike[str]) -> Suite:
    """Read and check a suite file.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a missing or unknown key, or a value of the wrong kind (the message names it).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Benchmark suite {path} does not exist; the shipped suites are configs/benchmarks/*.")
    raw = yaml.safe_load(path.read_text()) or {}
    _require_keys(raw, SUITE_KEYS, {"name", "data", "budget", "seeds", "protocol", "models"}, str(path))
    _require_keys(raw["budget"], BUDGET_KEYS, set(), f"{path}: budget")
    if not set(raw["budget"]) & {"max_epochs", "max_steps", "max_time"}:
        raise ValueError(f"{path}: budget needs one of max_epochs, max_steps or max_time, the same for every model.")
    _require_keys(raw["data"], {"generate", "path", "fields", "split", "seeds"}, set(), f"{path}: data")
    if ("generate" in raw["data"]) == ("path" in raw["data"]):
        raise ValueError(f"{path}: data needs exactly one of generate (a recipe's settings) or path (a file).")
    data_seeds = _data_seeds(raw["data"], str(path))
    protocol = raw["protocol"]
    _require_keys(protocol, {"context", "steps"}, {"context", "steps"}, f"{path}: protocol")
    models = {}
    if not isinstance(raw["models"], dict) or not raw["models"]:
        raise ValueError(f"{path}: models must be a mapping of at least one model name to its configs.")
    for name, entry in raw["models"].items():
        _require_keys(entry, {"configs", "overrides"}, {"configs"}, f"{path}: models.{name}")
        configs = tuple((path.parent / config).resolve() for config in entry["configs"])
        missing = [str(config) for config in configs if not config.is_file()]
        if missing:
            raise FileNotFoundError(f"{path}: models.{name} names config(s) that do not exist: {missing}.")
        models[_model_name(name, str(path))] = ModelEntry(str(name), configs, dict(entry.get("overrides") or {}))
    return Suite(
        path=path,
        name=str(raw["name"]),
        description=str(raw.get("description", "")),
        data=raw["data"],
        budget=raw["budget"],
        seeds=tuple(int(seed) for seed in raw["seeds"]),
        context=int(protocol["context"]),
        steps=int(protocol["steps"]),
        models=models,
        compare=_compare_pairs(raw.get("compare"), models, str(path)),
        training_metrics=_patterns(raw.get("training_metrics"), str(path)),
        accuracy=_accuracy(raw.get("accuracy"), str(path)),
        solver=_solver(raw.get("solver"), str(path)),
        select=_selection(raw.get("select"), raw["budget"], raw["seeds"], models, str(path)),
        data_seeds=data_seeds,
    )


def _data_seeds(data: Mapping[str, Any], where: str) -> tuple[int, ...]:
    """The suite's ``data.seeds``: distinct whole numbers, with ``generate`` and no ``generate.seed`` beside them."""
    if "seeds" not in data:
        return ()
    seeds = data["seeds"]
    if (
        not isinstance(seeds, list)
        or not seeds
        or not all(type(seed) is int and seed >= 0 for seed in seeds)
        or len(set(seeds)) != len(seeds)
    ):
        raise ValueError(
            f"{where}: data.seeds must be a list of distinct whole numbers >= 0, e.g. [0, 7]; got {seeds!r}."
        )
    if "generate" not in data or "seed" in (data["generate"] or {}):
        raise ValueError(
            f"{where}: data.seeds generates one dataset per seed from data.generate, so it needs generate (not "
            "path) and takes the place of generate.seed; remove generate.seed or data.seeds."
        )
    return tuple(seeds)


def _selection(
    value: Any, budget: Mapping[str, Any], seeds: Sequence[Any], models: Mapping[str, ModelEntry], where: str
) -> Selection | None:
    """The suite's ``select`` key (``Selection``)."""
    if value is None:
        return None
    _require_keys(value, SELECT_KEYS, {"grids"}, f"{where}: select")
    length = {"max_epochs", "max_steps", "max_time"}
    own = value.get("budget") or {}
    _require_keys(own, BUDGET_KEYS, set(), f"{where}: select.budget")
    if own and not set(own) & length:
        raise ValueError(f"{where}: select.budget needs one of max_epochs, max_steps or max_time (or leave it out).")
    chosen_budget = {**{k: v for k, v in budget.items() if k not in length or not set(own) & length}, **own}
    seed = value.get("seed", seeds[0] if seeds else 0)
    if type(seed) is not int:
        raise ValueError(f"{where}: select.seed must be a whole number (a training seed), got {seed!r}.")
    metric, mode = value.get("metric", "val/rollout_l2"), value.get("mode", "min")
    if not isinstance(metric, str) or not metric.startswith("val/"):
        raise ValueError(
            f"{where}: select.metric must be a column logged on the validation split (val/..., e.g. "
            f"val/rollout_l2): hyperparameters are never chosen on test scores; got {metric!r}."
        )
    if mode not in ("min", "max"):
        raise ValueError(f"{where}: select.mode must be min (lower is better) or max, got {mode!r}.")
    grids = value["grids"]
    if not isinstance(grids, dict) or not grids:
        raise ValueError(f"{where}: select.grids must map model names to {{override key: [candidates]}}.")
    unknown = sorted(set(grids) - set(models))
    if unknown:
        raise ValueError(f"{where}: select.grids names model(s) {unknown}; the suite's models are {list(models)}.")
    checked: dict[str, dict[str, tuple[Any, ...]]] = {}
    for model, grid in grids.items():
        if (
            not isinstance(grid, dict)
            or not grid
            or not all(
                isinstance(values, list)
                and values
                and len(values) == len({repr(v) for v in values})
                and all(isinstance(v, str | int | float | bool) for v in values)
                for values in grid.values()
            )
        ):
            raise ValueError(
                f"{where}: select.grids.{model} must map override keys to lists of distinct candidate values "
                f"(numbers, strings or booleans), e.g. {{model.init_args.optimizer.init_args.lr: [5.0e-4, 1.0e-3]}}; "
                f"got {grid!r}."
            )
        checked[str(model)] = {str(key): tuple(values) for key, values in grid.items()}
    return Selection(budget=chosen_budget, seed=seed, metric=metric, mode=mode, grids=checked)


def _accuracy(value: Any, where: str) -> Accuracy:
    """The suite's ``accuracy`` key: an axis name, or ``{axis: ..., threshold: ...}``."""
    if value is None:
        return Accuracy()
    if isinstance(value, str):
        value = {"axis": value}
    if not isinstance(value, dict) or set(value) - {"axis", "threshold"} or "axis" not in value:
        raise ValueError(
            f"{where}: accuracy must be rollout_l2 or correlation_time, or a mapping {{axis: correlation_time, "
            f"threshold: 0.95}}; got {value!r}."
        )
    try:
        return Accuracy(value["axis"], value.get("threshold", 0.95))
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None


def _solver(value: Any, where: str) -> SolverSpec:
    """The suite's ``solver`` key (``SolverSpec``)."""
    if value is None:
        return SolverSpec()
    _require_keys(value, SOLVER_KEYS, set(), f"{where}: solver")
    closure = value.get("closure") or {}
    _require_keys(closure, {"order", "factors"}, set(), f"{where}: solver.closure")

    def numbers(key: str, kind: type, source: Any) -> tuple | None:
        items = source.get(key)
        if items is None:
            return None
        if not isinstance(items, list) or not all(
            isinstance(item, int | float) and not isinstance(item, bool) and item > 0 for item in items
        ):
            raise ValueError(f"{where}: solver.{key} must be a list of positive numbers, got {items!r}.")
        return tuple(kind(item) for item in items)

    grids = numbers("grids", int, value)
    bad = [n for n in grids or () if n % 2 or n < 4]
    if bad or (grids is not None and any(int(n) != n for n in value["grids"])):
        raise ValueError(
            f"{where}: solver.grids must be even whole numbers of points per axis (at least 4), got "
            f"{value['grids']!r}; e.g. [32, 40, 48, 64, 96]."
        )
    schemes, dtypes = value.get("schemes"), value.get("dtypes", ["float32"])
    if schemes is not None and (not isinstance(schemes, list) or not schemes or set(schemes) - set(SCHEMES)):
        raise ValueError(f"{where}: solver.schemes must be a list of {list(SCHEMES)}, got {schemes!r}.")
    if not isinstance(dtypes, list) or not dtypes or set(dtypes) - {"float32", "float64"}:
        raise ValueError(f"{where}: solver.dtypes must be a list of float32 and/or float64, got {dtypes!r}.")
    cfl = () if value.get("cfl") == [] else numbers("cfl", float, value) or SolverSpec.cfl
    order = closure.get("order", 2)
    if type(order) is not int or order < 1:
        raise ValueError(f"{where}: solver.closure.order must be an integer p >= 1, got {order!r}.")
    factors = numbers("factors", float, closure) or SolverSpec.closure_factors
    max_seconds = value.get("max_seconds", 60.0)
    if isinstance(max_seconds, bool) or not isinstance(max_seconds, int | float) or not max_seconds > 0:
        raise ValueError(f"{where}: solver.max_seconds must be a positive number, got {max_seconds!r}.")
    return SolverSpec(
        grids=grids,
        schemes=None if schemes is None else tuple(schemes),
        dtypes=tuple(dtypes),
        dts=numbers("dts", float, value),
        cfl=tuple(cfl),
        max_seconds=float(max_seconds),
        closure_order=order,
        closure_factors=factors,
    )


def _model_name(name: Any, where: str) -> str:
    """A model name of the suite, checked to be a safe folder name (see the module docstring)."""
    text = str(name)
    if not MODEL_NAME.fullmatch(text) or text.rstrip(" .") != text or text == SOLVER:
        raise ValueError(
            f"{where}: model name {text!r} cannot name a run folder. Use letters, digits, spaces and _ - . , + ( ), "
            f"starting with a letter or digit, at most 100 characters, not ending in a space or dot, and not "
            f"{SOLVER!r} (the reference solver's folder), e.g. 'FNO (small)'."
        )
    return text


def _compare_pairs(value: Any, models: Mapping[str, ModelEntry], where: str) -> tuple[tuple[str, str], ...]:
    """The suite's ``compare`` key: a list of [A, B] pairs of its models' names."""
    if value is None:
        return ()
    names = list(models)
    example = f"[[{names[0]}, {names[-1]}]]" if len(names) > 1 else "[[A, B]]"
    if not isinstance(value, list) or not all(isinstance(pair, list | tuple) and len(pair) == 2 for pair in value):
        raise ValueError(
            f"{where}: compare must be a list of [A, B] pairs of the suite's model names, e.g. compare: {example}; "
            f"got {value!r}."
        )
    pairs = tuple((str(a), str(b)) for a, b in value)
    unknown = sorted({name for pair in pairs for name in pair} - set(models))
    if unknown:
        raise ValueError(
            f"{where}: compare names model(s) {unknown} that the suite does not have; its models are {names}."
        )
    same = [a for a, b in pairs if a == b]
    if same:
        raise ValueError(f"{where}: compare pairs {same[0]!r} with itself; a pair names two different models.")
    return pairs


def _patterns(value: Any, where: str) -> tuple[str, ...]:
    """The suite's ``training_metrics`` key: a list of fnmatch patterns (strings)."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(pattern, str) and pattern for pattern in value):
        raise ValueError(
            f"{where}: training_metrics must be a list of fnmatch patterns over the CSV log's column names, e.g. "
            f'training_metrics: ["gate/*/mean", "train/hf_to_l1"]; got {value!r}.'
        )
    return tuple(value)


def _require_keys(mapping: Any, allowed: set[str], required: set[str], where: str) -> None:
    if not isinstance(mapping, dict):
        raise ValueError(f"{where} must be a mapping, got {mapping!r}.")
    unknown, missing = sorted(set(mapping) - allowed), sorted(required - set(mapping))
    if unknown or missing:
        raise ValueError(
            f"{where}: " + "; ".join(
                part for part in (
                    f"unknown key(s) {unknown} (allowed: {sorted(allowed)})" if unknown else "",
                    f"missing key(s) {missing}" if missing else "",
                ) if part
            )
        )  # fmt: skip


# --- the output folder -----------------------------------------------------------------------------------------------
def scored_samples(suite: Suite, count: int) -> list[int]:
    """The test trajectories every model (and the solver) is scored on, of a file holding ``count``."""
    return list(split_trajectories(count, tuple(suite.data.get("split", DEFAULT_SPLIT)))["test"])


def validation_samples(suite: Suite, count: int) -> list[int]:
    """The validation trajectories, of a file holding ``count``: the solver setting matched with a model and the
    closure's coefficient are chosen on them, never on the test ones."""
    return list(split_trajectories(count, tuple(suite.data.get("split", DEFAULT_SPLIT)))["val"])


def inside(out: str | os.PathLike[str], *parts: str) -> Path:
    """``out / parts...``, refused unless it resolves inside ``out`` (a name with ``..`` or a link out of it).

    Raises:
        ValueError: the path would lie outside ``out``.
    """
    root = Path(out).resolve()
    path = root.joinpath(*parts).resolve()
    if path != root and root not in path.parents:
        raise ValueError(
            f"{Path(out).joinpath(*parts)} resolves to {path}, outside the benchmark folder {root}; rename the model "
            "or remove the link that leads out of the folder."
        )
    return path


def run_dir(out: str | os.PathLike[str], model: str, seed: int) -> Path:
    """A (model, seed) run's folder, ``<out>/runs/<model>/seed<seed>``, checked to lie inside ``out``."""
    return inside(out, "runs", model, f"seed{seed}")


def solver_dir(out: str | os.PathLike[str]) -> Path:
    """The reference solver's folder, ``<out>/runs/solver`` (its row and its work–precision sweep)."""
    return inside(out, "runs", SOLVER)


def result_path(out: str | os.PathLike[str], model: str, seed: int) -> Path:
    """Where a finished (model, seed) run's scores are kept; the run is done once this file exists."""
    return run_dir(out, model, seed) / "result.json"


def dataset_folders(suite: Suite, out: str | os.PathLike[str]) -> list[tuple[int | None, Suite, Path]]:
    """The suite's datasets: ``(data seed, the suite on that dataset, its folder)``; ``[(None, suite, out)]`` for a
    suite without ``data.seeds``, else one ``<out>/data-seed<k>`` per seed (each laid out as a whole benchmark)."""
    if not suite.data_seeds:
        return [(None, suite, Path(out))]
    return [(seed, suite.for_data_seed(seed), inside(out, f"data-seed{seed}")) for seed in suite.data_seeds]


def selection_dir(out: str | os.PathLike[str], model: str, variant: str | None = None) -> Path:
    """A model's hyperparameter selection folder, ``<out>/select/<model>`` (its ``choice.json``), or one bracket
    run's, ``<out>/select/<model>/<variant>``, checked to lie inside ``out``."""
    return inside(out, "select", model, *(() if variant is None else (variant,)))


def data_path(suite: Suite, out: str | os.PathLike[str]) -> Path:
    """The suite's data file: its ``path`` (a relative one from the working directory if it is there, else from the
    suite's folder), or ``<out>/data.h5``, where the runner generates it from ``generate``."""
    if "path" in suite.data:
        path = Path(suite.data["path"])
        if not path.is_absolute() and not path.exists():
            path = (suite.path.parent / path).resolve()
        return path
    return inside(out, "data.h5")


def logged_metrics(run: Path) -> dict[str, list[tuple[int, float]]]:
    """Every column of a run's Lightning CSV logs (``run/lightning_logs/version_*/metrics.csv``, in version order) as
    its logged ``(step, value)`` points in file order; the cells left empty (a column not logged in that row) and the
    ``step`` and ``epoch`` columns are left out. ``{}`` for a run without a log."""
    versions = sorted(
        (run / "lightning_logs").glob("version_*/metrics.csv"),
        key=lambda path: int(suffix) if (suffix := path.parent.name.removeprefix("version_")).isdigit() else -1,
    )
    columns: dict[str, list[tuple[int, float]]] = {}
    for path in versions:
        with path.open(newline="") as stream:
            for row in csv.DictReader(stream):
                try:
                    step = int(float(row.get("step") or ""))
                except ValueError:
                    continue
                for column, text in row.items():
                    if column in ("step", "epoch") or column is None or not text:
                        continue
                    try:
                        columns.setdefault(column, []).append((step, float(text)))
                    except (TypeError, ValueError):
                        continue
    return columns
