/* test_policy_keyhash.c - unit tests of API-key generation, salted SHA-256
 * hashing and constant-time verification (src/policy/keyhash.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "symbi/policy.h"

#include <string.h>

static void test_generate_shape(void **state)
{
    (void)state;
    char a[SYMBI_API_KEY_STRLEN + 1], b[SYMBI_API_KEY_STRLEN + 1];
    assert_int_equal(symbi_policy_key_generate(a), 0);
    assert_int_equal(symbi_policy_key_generate(b), 0);
    assert_int_equal(strlen(a), SYMBI_API_KEY_STRLEN);
    assert_memory_equal(a, "symbi_", 6);
    assert_int_equal(strspn(a + 6, "0123456789abcdef"), 64);
    assert_string_not_equal(a, b);
}

static void test_hash_known_vector(void **state)
{
    (void)state;
    /* sha256("abc") with an empty salt is the FIPS 180-2 test vector */
    char out[SYMBI_KEY_HASH_HEXLEN + 1];
    assert_int_equal(symbi_policy_key_hash("abc", "", out), 0);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* the salt is hashed first, as bytes: salt "61" ("a") + key "bc" == "abc" */
    assert_int_equal(symbi_policy_key_hash("bc", "61", out), 0);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_hash_rejects_bad_input(void **state)
{
    (void)state;
    char out[SYMBI_KEY_HASH_HEXLEN + 1];
    assert_int_equal(symbi_policy_key_hash("k", "abc", out), SYMBI_EINVAL); /* odd length */
    assert_int_equal(symbi_policy_key_hash("k", "zz", out), SYMBI_EINVAL);
    assert_int_equal(symbi_policy_key_hash(NULL, "00", out), SYMBI_EINVAL);
    char big[SYMBI_API_KEY_MAX_LEN + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(symbi_policy_key_hash(big, "00", out), SYMBI_EINVAL);
    struct symbi_key_verifier v;
    assert_int_equal(symbi_policy_verifier_init(&v, "00", "abcd"), SYMBI_EINVAL); /* short */
}

static void test_verify_round_trip(void **state)
{
    (void)state;
    char key[SYMBI_API_KEY_STRLEN + 1], salt[SYMBI_KEY_SALT_HEXLEN + 1];
    char hash[SYMBI_KEY_HASH_HEXLEN + 1], salt2[SYMBI_KEY_SALT_HEXLEN + 1];
    char hash2[SYMBI_KEY_HASH_HEXLEN + 1];
    assert_int_equal(symbi_policy_key_generate(key), 0);
    assert_int_equal(symbi_policy_key_salt(salt), 0);
    assert_int_equal(symbi_policy_key_salt(salt2), 0);
    assert_string_not_equal(salt, salt2);
    assert_int_equal(symbi_policy_key_hash(key, salt, hash), 0);
    /* a different salt gives a different hash for the same key */
    assert_int_equal(symbi_policy_key_hash(key, salt2, hash2), 0);
    assert_string_not_equal(hash, hash2);
    struct symbi_key_verifier v;
    assert_int_equal(symbi_policy_verifier_init(&v, salt, hash), 0);
    assert_true(symbi_policy_key_matches(&v, key, strlen(key)));
    /* one flipped character, a prefix, an extension, empty: all refused */
    char bad[SYMBI_API_KEY_STRLEN + 2];
    memcpy(bad, key, sizeof key);
    bad[10] = bad[10] == 'a' ? 'b' : 'a';
    assert_false(symbi_policy_key_matches(&v, bad, strlen(bad)));
    assert_false(symbi_policy_key_matches(&v, key, strlen(key) - 1));
    memcpy(bad, key, sizeof key);
    bad[SYMBI_API_KEY_STRLEN] = 'x';
    bad[SYMBI_API_KEY_STRLEN + 1] = '\0';
    assert_false(symbi_policy_key_matches(&v, bad, strlen(bad)));
    assert_false(symbi_policy_key_matches(&v, "", 0));
    assert_false(symbi_policy_key_matches(&v, NULL, 0));
}

static void test_ct_equal(void **state)
{
    (void)state;
    assert_true(symbi_policy_ct_equal("abcd", "abcd", 4));
    assert_false(symbi_policy_ct_equal("abcd", "abce", 4));
    assert_true(symbi_policy_ct_equal("x", "y", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_shape),
        cmocka_unit_test(test_hash_known_vector),
        cmocka_unit_test(test_hash_rejects_bad_input),
        cmocka_unit_test(test_verify_round_trip),
        cmocka_unit_test(test_ct_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
