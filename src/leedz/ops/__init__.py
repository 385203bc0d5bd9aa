"""Operations endpoints: liveness, readiness, metrics."""
