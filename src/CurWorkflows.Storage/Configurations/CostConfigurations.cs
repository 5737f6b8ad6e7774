using CurWorkflows.Storage.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CurWorkflows.Storage.Configurations;

internal static class CostColumns
{
    public static void ConfigureCost<T>(EntityTypeBuilder<T> builder)
        where T : CostRow
    {
        builder.HasKey(c => c.Id);
        builder.Property(c => c.Id).ValueGeneratedOnAdd();
        builder.Property(c => c.Package).HasMaxLength(ColumnLimits.Package);
        builder.Property(c => c.Currency).HasMaxLength(ColumnLimits.Currency);
        ConfigureAmounts(builder.Property(c => c.Unblended), builder.Property(c => c.NetUnblended), builder.Property(c => c.Amortized));
        // One secondary index per table, led by the run (below): readers go from the billing periods they may see (an
        // organization's or an integration's) to each active run's rows in the date range, cleanup deletes by run, and
        // a bulk write only touches the new run's part of the index instead of pages spread over every stored period.
        // No foreign key to integrations: a per-row referential check would slow the bulk write, and the rows are
        // only written for an existing integration (checked when a run starts writing a period) and removed by
        // generation cleanup or explicit deletion.
    }

    private static void ConfigureAmounts(params PropertyBuilder<decimal>[] amounts)
    {
        foreach (var amount in amounts)
        {
            amount.HasPrecision(ColumnLimits.Precision, ColumnLimits.Scale);
        }
    }
}

internal sealed class DailyPackageCostRowConfiguration : IEntityTypeConfiguration<DailyPackageCostRow>
{
    public void Configure(EntityTypeBuilder<DailyPackageCostRow> builder)
    {
        builder.ToTable("daily_package_costs");
        CostColumns.ConfigureCost(builder);
        builder.Property(c => c.ProductCode).HasMaxLength(ColumnLimits.ProductCode);
        builder.HasIndex(c => new { c.CollectionRunId, c.UsageDate, c.Package });
    }
}

internal sealed class DailyResourceCostRowConfiguration : IEntityTypeConfiguration<DailyResourceCostRow>
{
    public void Configure(EntityTypeBuilder<DailyResourceCostRow> builder)
    {
        builder.ToTable("daily_resource_costs");
        CostColumns.ConfigureCost(builder);
        builder.Property(c => c.ResourceId).HasMaxLength(ColumnLimits.ResourceId);
        builder.Property(c => c.ProductCode).HasMaxLength(ColumnLimits.ProductCode);
        // Resource queries are always within one package: run, package, then the date range.
        builder.HasIndex(c => new { c.CollectionRunId, c.Package, c.UsageDate });
    }
}

internal sealed class MonthlyPackageCostRowConfiguration : IEntityTypeConfiguration<MonthlyPackageCostRow>
{
    public void Configure(EntityTypeBuilder<MonthlyPackageCostRow> builder)
    {
        builder.ToTable("monthly_package_costs");
        CostColumns.ConfigureCost(builder);
        builder.HasIndex(c => new { c.CollectionRunId, c.Month, c.Package });
    }
}

internal sealed class CostGenerationConfiguration : IEntityTypeConfiguration<CostGeneration>
{
    public void Configure(EntityTypeBuilder<CostGeneration> builder)
    {
        builder.ToTable("cost_generations");
        builder.HasKey(g => new { g.CollectionRunId, g.IntegrationId, g.BillingPeriod });
    }
}
