"""The engine: scheduler, locks, versions, scenarios, fuzzing, timelines. Race-agnostic."""
