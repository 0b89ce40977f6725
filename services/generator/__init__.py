"""Generator service: serves enhanced fragments from a Redis ring over gRPC (core in moredata.enhanced)."""
