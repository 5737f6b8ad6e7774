using CurWorkflows.Service.Auth;

namespace CurWorkflows.Service.Tests;

public sealed class ApiKeyFormatTests
{
    [Fact]
    public void Generate_gives_a_key_whose_id_and_hash_match()
    {
        var generated = ApiKeyFormat.Generate();
        Assert.StartsWith("cwk_", generated.Key, StringComparison.Ordinal);
        Assert.Equal(generated.KeyId, ApiKeyFormat.TryGetKeyId(generated.Key));
        Assert.True(ApiKeyFormat.Matches(generated.Key, generated.Hash));
        Assert.DoesNotContain(generated.Key, generated.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Matches_rejects_a_key_differing_in_one_character()
    {
        var generated = ApiKeyFormat.Generate();
        var last = generated.Key[^1];
        var tampered = generated.Key[..^1] + (last == 'A' ? 'B' : 'A');
        Assert.False(ApiKeyFormat.Matches(tampered, generated.Hash));
    }

    [Theory]
    [InlineData("")]
    [InlineData("cwk_")]
    [InlineData("Bearer something")]
    [InlineData("cwk_short_key")]
    public void TryGetKeyId_rejects_malformed_keys(string key) => Assert.Null(ApiKeyFormat.TryGetKeyId(key));

    [Fact]
    public void Generate_never_repeats()
    {
        var keys = Enumerable.Range(0, 100).Select(_ => ApiKeyFormat.Generate()).ToList();
        Assert.Equal(100, keys.Select(k => k.Key).Distinct().Count());
        Assert.Equal(100, keys.Select(k => k.KeyId).Distinct().Count());
    }
}
