"""Learning from the supervisors: every confirmed or dismissed alert keeps a labelled crop of its seat (or the
finding's zone) on the server (``samples``), exported as a dataset by ``hallwatch models dataset export``; per-seat
thresholds tuned from it (``hallwatch models tune presence``) go back to the edges as a retained
``command.seat_tuning`` (``routes``)."""
