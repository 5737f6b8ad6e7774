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
        // The unit of replacement and of explicit deletion: one integration's billing period.
        builder.HasIndex(c => new { c.IntegrationId, c.BillingPeriod });
        // No foreign key to integrations: a per-row referential check would slow the bulk replace, and the rows are
        // only ever written by the replace (which locks the integration first) and removed by explicit deletion.
    }

    public static void ConfigureStaged<T>(EntityTypeBuilder<T> builder)
        where T : StagedCost
    {
        builder.HasKey(c => c.Id);
        builder.Property(c => c.Id).ValueGeneratedOnAdd();
        builder.Property(c => c.Package).HasMaxLength(ColumnLimits.Package);
        builder.Property(c => c.Currency).HasMaxLength(ColumnLimits.Currency);
        ConfigureAmounts(builder.Property(c => c.Unblended), builder.Property(c => c.NetUnblended), builder.Property(c => c.Amortized));
        builder.HasIndex(c => new { c.CollectionRunId, c.IntegrationId, c.BillingPeriod });
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
        builder.HasIndex(c => new { c.OrganizationId, c.UsageDate, c.Package });
        builder.HasIndex(c => new { c.IntegrationId, c.UsageDate, c.Package });
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
        // Resource queries are always within one package: organization, package, then the date range.
        builder.HasIndex(c => new { c.OrganizationId, c.Package, c.UsageDate });
    }
}

internal sealed class MonthlyPackageCostRowConfiguration : IEntityTypeConfiguration<MonthlyPackageCostRow>
{
    public void Configure(EntityTypeBuilder<MonthlyPackageCostRow> builder)
    {
        builder.ToTable("monthly_package_costs");
        CostColumns.ConfigureCost(builder);
        builder.HasIndex(c => new { c.OrganizationId, c.Month, c.Package });
    }
}

internal sealed class StagedDailyPackageCostConfiguration : IEntityTypeConfiguration<StagedDailyPackageCost>
{
    public void Configure(EntityTypeBuilder<StagedDailyPackageCost> builder)
    {
        builder.ToTable("staging_daily_package_costs");
        CostColumns.ConfigureStaged(builder);
        builder.Property(c => c.ProductCode).HasMaxLength(ColumnLimits.ProductCode);
    }
}

internal sealed class StagedDailyResourceCostConfiguration : IEntityTypeConfiguration<StagedDailyResourceCost>
{
    public void Configure(EntityTypeBuilder<StagedDailyResourceCost> builder)
    {
        builder.ToTable("staging_daily_resource_costs");
        CostColumns.ConfigureStaged(builder);
        builder.Property(c => c.ResourceId).HasMaxLength(ColumnLimits.ResourceId);
        builder.Property(c => c.ProductCode).HasMaxLength(ColumnLimits.ProductCode);
    }
}

internal sealed class StagedMonthlyPackageCostConfiguration : IEntityTypeConfiguration<StagedMonthlyPackageCost>
{
    public void Configure(EntityTypeBuilder<StagedMonthlyPackageCost> builder)
    {
        builder.ToTable("staging_monthly_package_costs");
        CostColumns.ConfigureStaged(builder);
    }
}
