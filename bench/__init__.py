"""Benchmarks: speed and quality measured side by side (`python -m bench`, `python bench/run.py`).

Writes `latest.json` and `latest.md` to bench/results/ (or `--out DIR`); `--quick` is a tiny
run of seconds used by tests/unit/test_bench.py. Sections (modules):

1. `throughput`: steps/s of `playground.training.train_steps` against a bare torch loop of the
   same network, batch and optimizer, and achieved GFLOP/s against the measured matmul peak.
2. `quality`: energy distance and sliced W2 (chunked, against a noise floor) at equal budgets of
   CPU-seconds, for our defaults (a run per budget: the schedule is fitted to it), torchcfm's CFM
   with our network and hyperparameters (recipe vs algorithm), torchcfm's CFM and OT-CFM with
   their recipe, and the seed's recipe.
3. `solvers`: drift evaluations Euler / Heun / RK4 need to reach the floor margin on the exact
   8-Gaussian field and on a trained model; time per drift evaluation at 2k / 10k / 50k particles.
4. `app_bench`: animation figure build time and JSON bytes, browser frame rate (Scatter vs
   Scattergl), Train-to-first-frame in the real app, in-app training steps/s against the loop.

latest.json keys (absent when its section was not run; non-finite numbers are written as null
and their paths listed in non_finite; `--sections` keeps the other sections of the previous run):
- schema, mode ("full" | "quick"), sections, sections_run_at{section: date}, settings,
  section_seconds, duration_s, cpu_seconds, non_finite[paths]
  (a section that raised holds {error} instead of its keys)
- machine: cpu_model, cores, cores_usable, torch, python, platform, date, load_average_start,
  load_average_end, uptime_start, uptime_end
- throughput: config, linear_weights, flops_per_step, matmul_n, rounds, measure_seconds,
  rows[{threads, ours_steps_per_s, autograd_steps_per_s, bare_steps_per_s, ratio_ours_bare,
  ratio_autograd_bare, achieved_gflops, peak_gflops, fraction_of_peak, averaged_steps_per_s,
  ratio_averaged_ours, rounds}]
- quality: clock, margin{text, ed_plus, sw2_factor}, samples, chunks, ours_budgets_s,
  peer_budgets_s, workers, methods, cases{name: config changes}, torchcfm (version or null),
  floors{case: {energy_distance, sliced_w2, samples, chunks, draws[{energy_distance, sliced_w2}]}},
  runs[{target, method, available, (reason | sampler, sample_steps, steps_per_cpu_s),
  checkpoints[{budget_s, seconds, steps, energy_distance, sliced_w2, meets}], time_to_quality_s}],
  time_to_quality[{target, ours_s, cfm_ours_s, cfm_s, otcfm_s, seed_s, best_peer_s,
  ratio_ours_best_peer, equal_budgets_s, verdict}]
- sampling: target, schedule, samples, ladder, exact and trained {methods{euler|heun|rk4:
  {method, evaluations_to_quality, ladder[{evaluations, steps, energy_distance, sliced_w2,
  meets, meets_strict}], evaluations_to_strict_quality}}, best_higher_order, ratio_best_to_euler,
  half_of_euler_or_better, euler_reached, strict{the same four for the strict margin}}
  (trained also train_steps), drift_eval[{particles, model_s, exact_s, model_chunked_s?}]
- app: figures[{particles, frames, variant ("app" | "particles"), webgl, build_s, json_s,
  json_bytes}], loop_without_ui[{steps, wall_s, steps_per_s_wall, steps_per_s_metric}],
  browser ({skipped} | {chromium, fps[{particles, frames, trace ("scatter" | "scattergl" |
  "canvas"), fps, fps_asked, frames_counted, moved, html_bytes, page_errors}], app{steps,
  click_to_finished_s, click_to_first_frame_s, finished_to_first_frame_s, steps_per_s_wall,
  steps_per_s_metric}}), in_app ({skipped, loop_steps_per_s_wall} | {app_steps_per_s_wall,
  loop_steps_per_s_wall, ratio_wall, app_steps_per_s_metric, loop_steps_per_s_metric, ratio_metric})
- targets[{id, name, value, threshold, status: PASS | MISS | N/A}]
"""
