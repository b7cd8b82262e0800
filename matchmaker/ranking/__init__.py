"""The matching core: pure Python over numpy arrays; imports neither Flask nor SQLAlchemy."""
