using System.Net;
using System.Text.RegularExpressions;

namespace CurWorkflows.Service.Validation;

/// <summary>Field rules of the enable request. Messages name the rule, never the rejected value.</summary>
public static partial class EnableRequestValidator
{
    public const string DefaultReportName = "massdriver-costs";
    public const string DefaultTagKey = "user:md-package";

    /// <summary>The OpenTofu module's <c>s3_prefix</c> default: the product doc's enable form asks only for the role,
    /// the external ID and the bucket, so a request without a prefix means the module's. An empty string means no prefix.</summary>
    public const string DefaultReportPrefix = "massdriver";

    private static readonly string[] ReservedBucketPrefixes = ["xn--", "sthree-", "amzn-s3-demo-"];
    private static readonly string[] ReservedBucketSuffixes = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

    public static bool TryValidate(
        EnableIntegrationRequest request, out ValidEnableRequest? valid, out Dictionary<string, string[]> errors)
    {
        errors = [];
        Check(errors, "iam_role_arn", ValidateRoleArn(request.IamRoleArn));
        Check(errors, "external_id", ValidateExternalId(request.ExternalId));
        Check(errors, "bucket_name", ValidateBucketName(request.BucketName));
        Check(errors, "report_prefix", ValidateReportPrefix(request.ReportPrefix));
        Check(errors, "report_name", ValidateReportName(request.ReportName));
        Check(errors, "tag_key", ValidateTagKey(request.TagKey));
        if (errors.Count > 0)
        {
            valid = null;
            return false;
        }

        valid = new ValidEnableRequest(
            request.IamRoleArn!,
            request.ExternalId!,
            request.BucketName!,
            NormalizePrefix(request.ReportPrefix),
            request.ReportName ?? DefaultReportName,
            request.TagKey ?? DefaultTagKey)
        {
            Omitted = (request.ReportPrefix is null ? OptionalEnableFields.ReportPrefix : 0)
                      | (request.ReportName is null ? OptionalEnableFields.ReportName : 0)
                      | (request.TagKey is null ? OptionalEnableFields.TagKey : 0),
        };
        return true;
    }

    public static string? ValidateRoleArn(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "iam_role_arn is required.";
        }

        return RoleArn().Match(value) is { Success: true } match && match.Groups["path"].Length <= 512
            ? null
            : "iam_role_arn must look like arn:aws:iam::<12-digit account id>:role/<optional path/><role name of 1 to 64 letters, digits or +=,.@_->.";
    }

    public static string? ValidateExternalId(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "external_id is required.";
        }

        if (value.Length is < 2 or > 1224)
        {
            return "external_id must be 2 to 1224 characters long.";
        }

        return ExternalIdCharacters().IsMatch(value)
            ? null
            : "external_id may contain only letters, digits and the characters +=,.@:/-_.";
    }

    public static string? ValidateBucketName(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "bucket_name is required.";
        }

        if (value.Length is < 3 or > 63)
        {
            return "bucket_name must be 3 to 63 characters long.";
        }

        if (!BucketCharacters().IsMatch(value))
        {
            return "bucket_name may contain only lowercase letters, digits, dots and hyphens, and must begin and end with a letter or digit.";
        }

        if (value.Contains("..", StringComparison.Ordinal))
        {
            return "bucket_name must not contain two adjacent dots.";
        }

        // Four dotted numbers, as S3 says (192.168.5.4); IPAddress.TryParse also takes shorthands such as 123 or 10.20,
        // which are valid bucket names.
        if (DottedQuad().IsMatch(value))
        {
            return "bucket_name must not be formatted as an IP address.";
        }

        if (ReservedBucketPrefixes.Any(p => value.StartsWith(p, StringComparison.Ordinal))
            || ReservedBucketSuffixes.Any(s => value.EndsWith(s, StringComparison.Ordinal)))
        {
            return "bucket_name uses a prefix or suffix that S3 reserves.";
        }

        return null;
    }

    public static string? ValidateReportPrefix(string? value)
    {
        if (value is null)
        {
            return null;
        }

        if (value.Length > 512)
        {
            return "report_prefix must be at most 512 characters long.";
        }

        if (value.StartsWith('/'))
        {
            return "report_prefix must not start with a slash.";
        }

        return PrefixCharacters().IsMatch(value)
            ? null
            : "report_prefix may contain only letters, digits and the characters !-_.*'()/.";
    }

    public static string? ValidateReportName(string? value)
    {
        if (value is null)
        {
            return null;
        }

        return ReportNameCharacters().IsMatch(value)
            ? null
            : "report_name must be 1 to 256 letters, digits or the characters !-_.*'().";
    }

    public static string? ValidateTagKey(string? value)
    {
        if (value is null)
        {
            return null;
        }

        return TagKeyPattern().IsMatch(value)
            ? null
            : "tag_key must be a cost allocation tag such as user:md-package (user: or aws: followed by 1 to 128 tag key characters).";
    }

    private static string NormalizePrefix(string? prefix) => (prefix ?? DefaultReportPrefix).TrimEnd('/');

    private static void Check(Dictionary<string, string[]> errors, string field, string? message)
    {
        if (message is not null)
        {
            errors[field] = [message];
        }
    }

    // IAM: a path of printable ASCII between slashes (at most 512 characters), then a name of 1-64 characters.
    [GeneratedRegex(@"^arn:aws:iam::[0-9]{12}:role(?<path>/(?:[\x21-\x7E]*/)?)[A-Za-z0-9+=,.@_-]{1,64}\z", RegexOptions.CultureInvariant)]
    private static partial Regex RoleArn();

    [GeneratedRegex(@"^[0-9]{1,3}(\.[0-9]{1,3}){3}\z", RegexOptions.CultureInvariant)]
    private static partial Regex DottedQuad();

    [GeneratedRegex(@"^[A-Za-z0-9_+=,.@:/-]+\z", RegexOptions.CultureInvariant)]
    private static partial Regex ExternalIdCharacters();

    [GeneratedRegex(@"^[a-z0-9][a-z0-9.-]*[a-z0-9]\z", RegexOptions.CultureInvariant)]
    private static partial Regex BucketCharacters();

    [GeneratedRegex(@"^[A-Za-z0-9!_.*'()/-]*\z", RegexOptions.CultureInvariant)]
    private static partial Regex PrefixCharacters();

    [GeneratedRegex(@"^[A-Za-z0-9!_.*'()-]{1,256}\z", RegexOptions.CultureInvariant)]
    private static partial Regex ReportNameCharacters();

    [GeneratedRegex(@"^(user|aws):[\p{L}\p{N} _.:/=+@-]{1,128}\z", RegexOptions.CultureInvariant)]
    private static partial Regex TagKeyPattern();
}
