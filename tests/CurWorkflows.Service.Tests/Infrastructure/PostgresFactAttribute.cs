namespace CurWorkflows.Service.Tests.Infrastructure;

/// <summary>A fact on PostgreSQL: skipped when CURWORKFLOWS_TEST_POSTGRES is unset (CI sets it, so nothing skips there).</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (TestEnvironment.PostgresConnectionString is null)
        {
            Skip = "CURWORKFLOWS_TEST_POSTGRES is not set.";
        }
    }
}
