using CurWorkflows.Aws;
using CurWorkflows.Cur;
using CurWorkflows.Service.Validation;

namespace CurWorkflows.Service.Integrations;

/// <summary>
/// The synchronous check of enable: assume the role with the external ID, list the bucket, look for the report.
/// Access failures throw (422 problem details); a missing report is only a warning.
/// </summary>
public sealed class EnableValidation(IntegrationValidator validator, AwsClientFactory clients)
{
    /// <summary>True when a report was found, false when none exists yet.</summary>
    public async Task<bool> ValidateAsync(ValidEnableRequest request, CancellationToken cancellationToken)
    {
        // A session of its own, dropped afterwards: each enable checks the role's trust as it is now, not as cached.
        var sessionId = "enable-" + Guid.NewGuid().ToString("N");
        IntegrationValidationResult result;
        try
        {
            result = await validator.ValidateAsync(
                new CustomerRole(sessionId, request.IamRoleArn, request.ExternalId),
                new ReportLocation(request.BucketName, request.ReportPrefix, request.ReportName),
                cancellationToken);
        }
        finally
        {
            clients.Forget(sessionId);
        }

        if (result.CanEnable)
        {
            return result.Succeeded;
        }

        // The validator's message may quote AWS; the caller gets the stable code and our advice instead.
        throw new CurException(result.ErrorCode ?? CurErrorCodes.AccessDenied, "Enable validation failed.");
    }
}
