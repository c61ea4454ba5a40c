"""QA review: rubrics (what a call is scored on), scoring, and the review records' views."""
