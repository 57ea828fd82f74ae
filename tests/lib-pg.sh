# scaffolding: the throwaway PostgreSQL server for tests
