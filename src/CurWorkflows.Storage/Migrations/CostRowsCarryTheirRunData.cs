using Microsoft.EntityFrameworkCore.Migrations;

namespace CurWorkflows.Storage.Migrations;

/// <summary>
/// Data steps of the CostRowsCarryTheirRun migration (the same portable SQL for every provider): live rows take the
/// run recorded on their billing period (so they stay the active generation), and rows still in the old staging
/// tables move into the cost tables as their run's generation, so that a run in flight during the upgrade can still
/// replace its period.
/// </summary>
internal static class CostRowsCarryTheirRunData
{
    private static readonly (string Table, string Keys)[] Tables =
    [
        ("daily_package_costs", "usage_date, package, product_code, currency"),
        ("daily_resource_costs", "usage_date, package, resource_id, product_code, currency"),
        ("monthly_package_costs", "month, package, currency"),
    ];

    /// <param name="sqlServer">Wraps each statement in EXEC: an idempotent script compiles every batch, and the old
    /// staging tables' columns must not be resolved once they are gone.</param>
    public static void Up(MigrationBuilder migrationBuilder, bool sqlServer = false)
    {
        void Sql(string sql) => migrationBuilder.Sql(sqlServer ? $"EXEC(N'{sql.Replace("'", "''", StringComparison.Ordinal)}')" : sql);

        foreach (var (table, keys) in Tables)
        {
            Sql($"""
                UPDATE {table} SET collection_run_id = (
                    SELECT p.collection_run_id FROM billing_periods p
                    WHERE p.integration_id = {table}.integration_id AND p.period_start = {table}.billing_period)
                WHERE EXISTS (
                    SELECT 1 FROM billing_periods p
                    WHERE p.integration_id = {table}.integration_id AND p.period_start = {table}.billing_period);
                """);
            var stagedKeys = string.Join(", ", keys.Split(", ").Select(k => "s." + k));
            Sql($"""
                INSERT INTO {table} (organization_id, integration_id, billing_period, collection_run_id, {keys}, unblended, net_unblended, amortized)
                SELECT i.organization_id, s.integration_id, s.billing_period, s.collection_run_id, {stagedKeys}, s.unblended, s.net_unblended, s.amortized
                FROM staging_{table} s JOIN integrations i ON i.id = s.integration_id;
                """);
        }

        Sql("""
            INSERT INTO cost_generations (collection_run_id, integration_id, billing_period, created_at)
            SELECT collection_run_id, integration_id, billing_period, MIN(staged_at)
            FROM (
                SELECT collection_run_id, integration_id, billing_period, staged_at FROM staging_daily_package_costs
                UNION ALL SELECT collection_run_id, integration_id, billing_period, staged_at FROM staging_daily_resource_costs
                UNION ALL SELECT collection_run_id, integration_id, billing_period, staged_at FROM staging_monthly_package_costs
            ) s
            GROUP BY collection_run_id, integration_id, billing_period;
            """);
    }
}
