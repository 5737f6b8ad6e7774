using CurWorkflows.Storage.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CurWorkflows.Storage.Configurations;

internal sealed class OrganizationConfiguration : IEntityTypeConfiguration<Organization>
{
    public void Configure(EntityTypeBuilder<Organization> builder)
    {
        builder.ToTable("organizations");
        builder.HasKey(o => o.Id);
        builder.Property(o => o.Id).ValueGeneratedNever();
        builder.Property(o => o.Name).HasMaxLength(ColumnLimits.Name);
    }
}

internal sealed class ApiKeyConfiguration : IEntityTypeConfiguration<ApiKey>
{
    public void Configure(EntityTypeBuilder<ApiKey> builder)
    {
        builder.ToTable("api_keys");
        builder.HasKey(k => k.Id);
        builder.Property(k => k.Id).ValueGeneratedNever();
        builder.Property(k => k.KeyId).HasMaxLength(ColumnLimits.KeyId);
        builder.Property(k => k.SecretHash).HasMaxLength(32);
        builder.Property(k => k.Name).HasMaxLength(ColumnLimits.Name);
        builder.HasIndex(k => k.KeyId).IsUnique();
        builder.HasIndex(k => k.OrganizationId);
        builder.HasOne<Organization>().WithMany().HasForeignKey(k => k.OrganizationId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class IntegrationConfiguration : IEntityTypeConfiguration<Integration>
{
    public void Configure(EntityTypeBuilder<Integration> builder)
    {
        builder.ToTable("integrations");
        builder.HasKey(i => i.Id);
        builder.Property(i => i.Id).ValueGeneratedNever();
        builder.Property(i => i.RoleArn).HasMaxLength(ColumnLimits.RoleArn);
        builder.Property(i => i.ExternalId).HasMaxLength(ColumnLimits.ExternalId);
        builder.Property(i => i.BucketName).HasMaxLength(ColumnLimits.BucketName);
        builder.Property(i => i.ReportPrefix).HasMaxLength(ColumnLimits.ReportPrefix);
        builder.Property(i => i.ReportName).HasMaxLength(ColumnLimits.ReportName).HasDefaultValue(Integration.DefaultReportName);
        builder.Property(i => i.TagKey).HasMaxLength(ColumnLimits.TagKey).HasDefaultValue(Integration.DefaultTagKey);
        builder.Property(i => i.Status).HasConversion<string>().HasMaxLength(16);
        // Enabling the same role and bucket twice finds this row instead of creating a second integration.
        // The role ARN is long, so the unique index uses organization + bucket + ARN in that order.
        builder.HasIndex(i => new { i.OrganizationId, i.BucketName, i.RoleArn }).IsUnique();
        builder.HasOne<Organization>().WithMany().HasForeignKey(i => i.OrganizationId).OnDelete(DeleteBehavior.Restrict);
    }
}

internal sealed class CollectionRunConfiguration : IEntityTypeConfiguration<CollectionRun>
{
    public void Configure(EntityTypeBuilder<CollectionRun> builder)
    {
        builder.ToTable("collection_runs");
        builder.HasKey(r => r.Id);
        builder.Property(r => r.Id).ValueGeneratedNever();
        builder.Property(r => r.WorkflowId).HasMaxLength(ColumnLimits.WorkflowId);
        builder.Property(r => r.WorkflowRunId).HasMaxLength(ColumnLimits.WorkflowId);
        builder.Property(r => r.Outcome).HasConversion<string>().HasMaxLength(16);
        builder.Property(r => r.ErrorCode).HasMaxLength(ColumnLimits.ErrorCode);
        builder.Property(r => r.ErrorMessage).HasMaxLength(ColumnLimits.ErrorMessage);
        builder.Property(r => r.Unblended).HasPrecision(ColumnLimits.Precision, ColumnLimits.Scale);
        builder.Property(r => r.NetUnblended).HasPrecision(ColumnLimits.Precision, ColumnLimits.Scale);
        builder.Property(r => r.Amortized).HasPrecision(ColumnLimits.Precision, ColumnLimits.Scale);
        builder.HasIndex(r => new { r.IntegrationId, r.StartedAt });
        builder.HasIndex(r => new { r.OrganizationId, r.StartedAt });
        builder.HasIndex(r => r.WorkflowId).IsUnique();
        builder.HasOne<Integration>().WithMany().HasForeignKey(r => r.IntegrationId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class BillingPeriodConfiguration : IEntityTypeConfiguration<BillingPeriod>
{
    public void Configure(EntityTypeBuilder<BillingPeriod> builder)
    {
        builder.ToTable("billing_periods");
        builder.HasKey(p => new { p.IntegrationId, p.PeriodStart });
        builder.Property(p => p.AssemblyId).HasMaxLength(ColumnLimits.AssemblyId);
        builder.Property(p => p.ManifestETag).HasMaxLength(ColumnLimits.ETag);
        builder.Property(p => p.Currency).HasMaxLength(ColumnLimits.Currency);
        builder.Property(p => p.Unblended).HasPrecision(ColumnLimits.Precision, ColumnLimits.Scale);
        builder.Property(p => p.NetUnblended).HasPrecision(ColumnLimits.Precision, ColumnLimits.Scale);
        builder.Property(p => p.Amortized).HasPrecision(ColumnLimits.Precision, ColumnLimits.Scale);
        builder.HasIndex(p => new { p.OrganizationId, p.PeriodStart });
        builder.HasOne<Integration>().WithMany().HasForeignKey(p => p.IntegrationId).OnDelete(DeleteBehavior.Cascade);
    }
}
