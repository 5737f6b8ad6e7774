using CurWorkflows.Cur;
using CurWorkflows.Cur.Manifest;

namespace CurWorkflows.Aws;

/// <summary>
/// The answer to "can we read this integration?" at enable time. <see cref="ErrorCode"/> is null on success;
/// <c>report_not_found</c> comes with <see cref="IsWarning"/> (the first report takes up to 24 hours).
/// </summary>
public sealed record IntegrationValidationResult(
    string? ErrorCode, string Message, IReadOnlyList<CurBillingPeriod> BillingPeriods)
{
    public bool Succeeded => ErrorCode is null;

    public bool IsWarning => ErrorCode == CurErrorCodes.ReportNotFound;

    /// <summary>True when the integration may be enabled (success, or only the report-not-found warning).</summary>
    public bool CanEnable => Succeeded || IsWarning;
}

/// <summary>Assume the role, list the bucket, look for the report's manifests.</summary>
public sealed class IntegrationValidator(AwsClientFactory clients, CurBucketReader bucketReader)
{
    public async Task<IntegrationValidationResult> ValidateAsync(
        CustomerRole role, ReportLocation location, CancellationToken cancellationToken = default)
    {
        try
        {
            await clients.EnsureRoleAsync(role, cancellationToken);
            var manifests = await bucketReader.FindPeriodManifestsAsync(role, location, cancellationToken: cancellationToken);
            var root = CurReportLayout.ReportRoot(location.Prefix, location.ReportName);
            if (manifests.Count == 0)
            {
                return new IntegrationValidationResult(CurErrorCodes.ReportNotFound,
                    $"No CUR manifest under s3://{location.Bucket}/{root}. AWS delivers the first report up to 24 hours after it is created; check the report name and prefix.",
                    []);
            }

            var periods = manifests.Select(m => m.Period).ToList();
            return new IntegrationValidationResult(null,
                $"Found {periods.Count} billing period(s) of report {location.ReportName} in s3://{location.Bucket}/{root}: {string.Join(", ", periods.Select(p => p.FolderName))}",
                periods);
        }
        catch (CurException ex) when (ex.Code != CurErrorCodes.Transient)
        {
            return new IntegrationValidationResult(ex.Code, ex.Message, []);
        }
    }
}
