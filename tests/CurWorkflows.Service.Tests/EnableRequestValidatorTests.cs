using CurWorkflows.Service.Validation;

namespace CurWorkflows.Service.Tests;

public sealed class EnableRequestValidatorTests
{
    private static readonly EnableIntegrationRequest Valid = new()
    {
        IamRoleArn = "arn:aws:iam::123456789012:role/massdriver-cur-reader",
        ExternalId = "abc123-def456",
        BucketName = "massdriver-costs-a1b2c3d4",
    };

    [Fact]
    public void TryValidate_the_module_outputs_fills_defaults()
    {
        Assert.True(EnableRequestValidator.TryValidate(Valid, out var valid, out var errors));
        Assert.Empty(errors);
        Assert.Equal("massdriver-costs", valid!.ReportName);
        Assert.Equal("user:md-package", valid.TagKey);
        Assert.Equal("massdriver", valid.ReportPrefix);
    }

    [Theory]
    [InlineData("", "")]
    [InlineData("cur/", "cur")]
    [InlineData("massdriver", "massdriver")]
    public void TryValidate_keeps_a_given_prefix_and_an_empty_one_means_none(string given, string stored)
    {
        Assert.True(EnableRequestValidator.TryValidate(Valid with { ReportPrefix = given }, out var valid, out _));
        Assert.Equal(stored, valid!.ReportPrefix);
    }

    [Theory]
    [InlineData("arn:aws:iam::123456789012:role/path/to/reader")]
    [InlineData("arn:aws:iam::000000000000:role/a+b=c,d.e@f_g-h")]
    [InlineData("arn:aws:iam::123456789012:role/service-role/rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr")]
    public void ValidateRoleArn_accepts_role_arns(string arn) => Assert.Null(EnableRequestValidator.ValidateRoleArn(arn));

    [Theory]
    [InlineData("")]
    [InlineData("arn:aws:iam::12345678901:role/short-account")]
    [InlineData("arn:aws:iam::123456789012:user/not-a-role")]
    [InlineData("arn:aws:s3:::bucket")]
    [InlineData("arn:aws:iam::123456789012:role/")]
    [InlineData("arn:aws:iam::123456789012:role/has space")]
    [InlineData("arn:aws:iam::123456789012:role/path/")]
    [InlineData("arn:aws:iam::123456789012:role//")]
    [InlineData("arn:aws:iam::123456789012:role/rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr")]
    public void ValidateRoleArn_rejects_other_strings(string arn) => Assert.NotNull(EnableRequestValidator.ValidateRoleArn(arn));

    [Theory]
    [InlineData("ab")]
    [InlineData("a_b+c=d,e.f@g:h/i-j")]
    public void ValidateExternalId_accepts_allowed_characters(string id) => Assert.Null(EnableRequestValidator.ValidateExternalId(id));

    [Fact]
    public void ValidateExternalId_rejects_bad_lengths_and_characters()
    {
        Assert.NotNull(EnableRequestValidator.ValidateExternalId("a"));
        Assert.NotNull(EnableRequestValidator.ValidateExternalId(new string('a', 1225)));
        Assert.Null(EnableRequestValidator.ValidateExternalId(new string('a', 1224)));
        Assert.NotNull(EnableRequestValidator.ValidateExternalId("has space"));
        Assert.NotNull(EnableRequestValidator.ValidateExternalId("semi;colon"));
    }

    [Fact]
    public void Rejection_messages_never_quote_the_external_id()
    {
        var secret = "secret value!";
        var request = Valid with { ExternalId = secret };
        Assert.False(EnableRequestValidator.TryValidate(request, out _, out var errors));
        Assert.DoesNotContain(secret, string.Join(" ", errors.SelectMany(e => e.Value)), StringComparison.Ordinal);
        Assert.DoesNotContain(secret, request.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("massdriver-costs-a1b2c3d4")]
    [InlineData("my.bucket.name")]
    // Not four dotted numbers, so not "formatted as an IP address" (IPAddress.TryParse reads them as shorthands).
    [InlineData("123")]
    [InlineData("10.20")]
    [InlineData("1.2.3")]
    public void ValidateBucketName_accepts_s3_names(string name) => Assert.Null(EnableRequestValidator.ValidateBucketName(name));

    [Theory]
    [InlineData("ab")]
    [InlineData("Uppercase")]
    [InlineData("-starts-with-hyphen")]
    [InlineData("ends-with-dot.")]
    [InlineData("two..dots")]
    [InlineData("192.168.5.4")]
    [InlineData("xn--punycode")]
    [InlineData("bucket-s3alias")]
    [InlineData("under_score")]
    public void ValidateBucketName_rejects_names_s3_refuses(string name) => Assert.NotNull(EnableRequestValidator.ValidateBucketName(name));

    [Fact]
    public void ValidateBucketName_rejects_64_characters() =>
        Assert.NotNull(EnableRequestValidator.ValidateBucketName(new string('a', 64)));

    [Theory]
    [InlineData("tag_key", "md-package")]
    [InlineData("report_name", "has space")]
    [InlineData("report_prefix", "/leading-slash")]
    public void TryValidate_names_the_rejected_optional_field(string field, string value)
    {
        var request = field switch
        {
            "tag_key" => Valid with { TagKey = value },
            "report_name" => Valid with { ReportName = value },
            _ => Valid with { ReportPrefix = value },
        };
        Assert.False(EnableRequestValidator.TryValidate(request, out _, out var errors));
        Assert.Equal([field], errors.Keys);
    }

    [Theory]
    [InlineData("iam_role_arn")]
    [InlineData("external_id")]
    [InlineData("bucket_name")]
    [InlineData("tag_key")]
    [InlineData("report_name")]
    [InlineData("report_prefix")]
    public void TryValidate_rejects_a_trailing_line_break_in_every_field(string field)
    {
        // .NET's $ also matches before a final \n: a pattern must end at \z, or the break is stored and logged.
        var request = field switch
        {
            "iam_role_arn" => Valid with { IamRoleArn = Valid.IamRoleArn + "\n" },
            "external_id" => Valid with { ExternalId = Valid.ExternalId + "\n" },
            "bucket_name" => Valid with { BucketName = Valid.BucketName + "\n" },
            "tag_key" => Valid with { TagKey = "user:md-package\n" },
            "report_name" => Valid with { ReportName = "massdriver-costs\n" },
            _ => Valid with { ReportPrefix = "cur\n" },
        };
        Assert.False(EnableRequestValidator.TryValidate(request, out _, out var errors));
        Assert.Equal([field], errors.Keys);
    }
}
