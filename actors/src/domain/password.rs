//! Password strength policy (FEATURES §10).
//!
//! DS requires 12 to 128 characters and a zxcvbn score of 4. Without zxcvbn
//! we approximate it with a few cheap rules: e-mail reuse, character
//! classes, repeats, sequences and a small list of very common passwords.

use super::slug::fold_accent;

/// Minimum length, in characters.
pub const PASSWORD_MIN_CHARS: usize = 12;
/// Maximum length, in characters.
pub const PASSWORD_MAX_CHARS: usize = 128;
/// From this length, the character-class rule no longer applies.
const PASSPHRASE_CHARS: usize = 20;
/// A run of this many identical characters makes a password weak.
const MAX_REPEAT: usize = 4;
/// An ascending or descending run of this many letters or digits
/// ("12345", "abcde", "54321") makes a password weak.
const SEQUENCE_RUN: usize = 5;
/// Window size used against keyboard rows ("azerty", "qsdfgh").
const KEYBOARD_WINDOW: usize = 6;
/// Once the common roots are removed, this many characters must remain.
const MIN_REMAINDER: usize = 10;

const TOO_SHORT: &str = "Le mot de passe doit comporter au moins 12 caractères.";
const TOO_LONG: &str = "Le mot de passe doit comporter au plus 128 caractères.";
const TOO_WEAK: &str = "Ce mot de passe est trop facile à deviner : mélangez majuscules, \
                        minuscules, chiffres et symboles, ou choisissez une phrase plus longue.";

const KEYBOARD_ROWS: [&str; 8] = [
    "azertyuiop",
    "qsdfghjklm",
    "wxcvbn",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "qwertzuiop",
    "1234567890",
];

/// Very common passwords and password roots (lowercase, accents folded).
const COMMON: [&str; 60] = [
    "motdepasse",
    "password",
    "passw0rd",
    "soleil",
    "bonjour",
    "azerty",
    "qwerty",
    "123456789",
    "marseille",
    "toulouse",
    "bordeaux",
    "france",
    "paris",
    "loulou",
    "doudou",
    "chouchou",
    "coucou",
    "chocolat",
    "jetaime",
    "iloveyou",
    "amour",
    "bisous",
    "princesse",
    "nicolas",
    "camille",
    "julien",
    "thomas",
    "football",
    "olympique",
    "dragon",
    "monkey",
    "master",
    "sunshine",
    "letmein",
    "welcome",
    "bienvenue",
    "admin",
    "secret",
    "liberte",
    "superman",
    "batman",
    "pokemon",
    "starwars",
    "naruto",
    "abc123",
    "changeme",
    "demarches",
    "simplifie",
    "utilisateur",
    "ordinateur",
    "qwertz",
    "000000",
    "111111",
    "123123",
    "121212",
    "696969",
    "666666",
    "azertyuiop",
    "trustno1",
    "doudoune",
];

/// Checks the password policy. `email` is the account's e-mail address; its
/// local part must not appear in the password.
pub fn check_strength(password: &str, email: &str) -> Result<(), String> {
    let len = password.chars().count();
    if len < PASSWORD_MIN_CHARS {
        return Err(TOO_SHORT.to_owned());
    }
    if len > PASSWORD_MAX_CHARS {
        return Err(TOO_LONG.to_owned());
    }
    if is_weak(password, email) {
        return Err(TOO_WEAK.to_owned());
    }
    Ok(())
}

fn is_weak(password: &str, email: &str) -> bool {
    let lower = password.to_lowercase();
    contains_email_local_part(&lower, email)
        || (password.chars().count() < PASSPHRASE_CHARS && character_classes(password) < 3)
        || has_repeats(&lower)
        || has_sequence(&lower)
        || has_keyboard_walk(&lower)
        || is_mostly_common(&lower)
}

fn contains_email_local_part(lower: &str, email: &str) -> bool {
    let local = email
        .split('@')
        .next()
        .unwrap_or_default()
        .trim()
        .to_lowercase();
    local.chars().count() >= 3 && lower.contains(&local)
}

fn character_classes(password: &str) -> usize {
    let (mut lower, mut upper, mut digit, mut symbol) = (false, false, false, false);
    for c in password.chars() {
        if c.is_lowercase() {
            lower = true;
        } else if c.is_uppercase() {
            upper = true;
        } else if c.is_ascii_digit() {
            digit = true;
        } else {
            symbol = true;
        }
    }
    [lower, upper, digit, symbol]
        .into_iter()
        .filter(|b| *b)
        .count()
}

fn has_repeats(lower: &str) -> bool {
    let mut run = 0;
    let mut prev = None;
    for c in lower.chars() {
        run = if prev == Some(c) { run + 1 } else { 1 };
        if run >= MAX_REPEAT {
            return true;
        }
        prev = Some(c);
    }
    false
}

fn has_sequence(lower: &str) -> bool {
    let chars: Vec<char> = lower.chars().collect();
    for step in [1i32, -1] {
        let mut run = 1;
        for pair in chars.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let same_kind = (a.is_ascii_digit() && b.is_ascii_digit())
                || (a.is_ascii_lowercase() && b.is_ascii_lowercase());
            run = if same_kind && b as i32 - a as i32 == step {
                run + 1
            } else {
                1
            };
            if run >= SEQUENCE_RUN {
                return true;
            }
        }
    }
    false
}

fn has_keyboard_walk(lower: &str) -> bool {
    KEYBOARD_ROWS.iter().any(|row| {
        let forward: Vec<char> = row.chars().collect();
        let backward: Vec<char> = row.chars().rev().collect();
        [forward, backward].iter().any(|keys| {
            keys.windows(KEYBOARD_WINDOW.min(keys.len())).any(|w| {
                let s: String = w.iter().collect();
                lower.contains(&s)
            })
        })
    })
}

/// Lowercase, accents folded and common "leet" substitutions undone.
fn unleet(lower: &str) -> String {
    let mut out = String::with_capacity(lower.len());
    for c in lower.chars() {
        match c {
            '0' => out.push('o'),
            '1' | '!' => out.push('i'),
            '3' => out.push('e'),
            '4' | '@' => out.push('a'),
            '5' | '$' => out.push('s'),
            '7' => out.push('t'),
            c => match fold_accent(c) {
                Some(f) => out.push_str(f),
                None => out.push(c),
            },
        }
    }
    out
}

fn fold(lower: &str) -> String {
    lower
        .chars()
        .map(|c| fold_accent(c).map_or_else(|| c.to_string(), str::to_owned))
        .collect()
}

/// True when the password contains a common root and little else: removing
/// every common root leaves fewer than [`MIN_REMAINDER`] characters. A long
/// passphrase that merely contains a common word passes.
fn is_mostly_common(lower: &str) -> bool {
    [fold(lower), unleet(lower)].iter().any(|candidate| {
        let mut rest = candidate.clone();
        let mut found = false;
        for root in COMMON {
            if rest.contains(root) {
                found = true;
                rest = rest.replace(root, "");
            }
        }
        found && rest.chars().count() < MIN_REMAINDER
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMAIL: &str = "jean.dupont@example.fr";

    fn weak() -> Result<(), String> {
        Err(TOO_WEAK.to_owned())
    }

    #[test]
    fn messages() {
        assert_eq!(
            TOO_WEAK,
            "Ce mot de passe est trop facile à deviner : mélangez majuscules, minuscules, \
             chiffres et symboles, ou choisissez une phrase plus longue."
        );
        assert_eq!(
            check_strength("Ab1!", EMAIL),
            Err("Le mot de passe doit comporter au moins 12 caractères.".to_owned())
        );
        assert_eq!(
            check_strength(&"Ab1!xY".repeat(22), EMAIL),
            Err("Le mot de passe doit comporter au plus 128 caractères.".to_owned())
        );
    }

    #[test]
    fn length_bounds_in_characters() {
        // 11 characters, rejected even though strong otherwise.
        assert_eq!(
            check_strength("Kx9#vLq2!Tz", EMAIL),
            Err(TOO_SHORT.to_owned())
        );
        assert_eq!(check_strength("Kx9#vLq2!Tzw", EMAIL), Ok(()));
        // Multi-byte characters count once each.
        assert_eq!(check_strength("Éà9#vLq2!Tzç", EMAIL), Ok(()));
        let max = format!(
            "Kx9#{}",
            "vLq2!Tzw".repeat(16).chars().take(124).collect::<String>()
        );
        assert_eq!(max.chars().count(), 128);
        assert_eq!(check_strength(&max, EMAIL), Ok(()));
        let over = format!("{max}a");
        assert_eq!(check_strength(&over, EMAIL), Err(TOO_LONG.to_owned()));
    }

    #[test]
    fn strong_passwords() {
        for p in [
            "Kx9#vLq2!Tzw",
            "Rv7-pQ2m_Wc8",
            "tH3-gr1ffon-v0le",
            "le chat de ma voisine mange des fraises",
            "correct horse battery staple",
            "Le soleil brille sur Marseille en été",
            "MonChatSappelleSoleil!42",
            "Vélo-Mauve-Tartine-8",
        ] {
            assert_eq!(check_strength(p, EMAIL), Ok(()), "{p}");
        }
    }

    #[test]
    fn email_local_part() {
        assert_eq!(check_strength("xJean.Dupont!9", EMAIL), weak());
        assert_eq!(check_strength("Kx9#JEAN.DUPONTz", EMAIL), weak());
        // Short local parts are ignored.
        assert_eq!(check_strength("Kx9#vLq2!Tzab", "ab@example.fr"), Ok(()));
        assert_eq!(check_strength("Kx9#vLq2!Tzabc", "abc@example.fr"), weak());
        // No e-mail at all.
        assert_eq!(check_strength("Kx9#vLq2!Tzw", ""), Ok(()));
    }

    #[test]
    fn character_classes_rule() {
        assert_eq!(check_strength("kxqvlmtzwrpn", EMAIL), weak());
        assert_eq!(check_strength("KXQVLMTZWRPN", EMAIL), weak());
        assert_eq!(check_strength("kxqvlmtz9wrp", EMAIL), weak());
        assert_eq!(check_strength("kxqvlmtz9wrP", EMAIL), Ok(()));
        assert_eq!(check_strength("kxqvlmtz9wr!", EMAIL), Ok(()));
        assert_eq!(check_strength("kxqvlm tz wr!", EMAIL), weak());
        assert_eq!(check_strength("kxqvlm tz w9!", EMAIL), Ok(()));
        // 19 characters, two classes: weak; 20: a passphrase, fine.
        assert_eq!(check_strength("fraise kiwi poireau", EMAIL), weak());
        assert_eq!(check_strength("fraises kiwi poireau", EMAIL), Ok(()));
        assert_eq!(character_classes("aA1!"), 4);
        assert_eq!(character_classes("éÉ"), 2);
    }

    #[test]
    fn repeats() {
        assert_eq!(check_strength("Kx9#vLqqqq!T", EMAIL), weak());
        assert_eq!(check_strength("Kx9#vLqqq!Tw", EMAIL), Ok(()));
        assert_eq!(check_strength("Kx9#vL!!!!2T", EMAIL), weak());
    }

    #[test]
    fn sequences() {
        for p in [
            "Kx#vL12345!T",
            "Kx#vL54321!T",
            "Kx#vLabcde!T9",
            "Kx#vLedcba!T9",
            "Kx#vLAZERTY!T9",
            "Kx#vLytreza!T9",
            "Kx#vLqwerty!T9",
            "Kx#vLqsdfgh!T9",
            "Kx#vLwxcvbn!T9",
            "Kx#vL567890!T",
        ] {
            assert_eq!(check_strength(p, EMAIL), weak(), "{p}");
        }
        // Short runs are fine.
        assert_eq!(check_strength("Kx#vL1234!Tw", EMAIL), Ok(()));
        assert_eq!(check_strength("Kx#vLabcd!T9", EMAIL), Ok(()));
        assert_eq!(check_strength("Kx#vLazert!T9", EMAIL), Ok(()));
    }

    #[test]
    fn common_passwords() {
        for p in [
            "Motdepasse123!",
            "MotDePasse2024",
            "P@ssw0rd2024!",
            "Password-2024",
            "Soleil2024!!",
            "Bonjour2024!",
            "Marseille13!!",
            "123456789Aa!",
            "Libert3-2024",
            "Liberté2024!",
            "Ch0c0lat!2024",
            "JeTaime-2024",
            "Paris-France-75",
        ] {
            assert_eq!(check_strength(p, EMAIL), weak(), "{p}");
        }
    }

    #[test]
    fn helpers() {
        assert_eq!(unleet("p@ssw0rd"), "password");
        assert_eq!(unleet("libert3"), "liberte");
        assert_eq!(fold("liberté"), "liberte");
        assert!(is_mostly_common("soleil2024!!"));
        assert!(!is_mostly_common("monchatsappellesoleil!42"));
        assert!(!is_mostly_common("kx9#vlq2!tzw"));
        assert!(has_sequence("x12345"));
        assert!(!has_sequence("x1234"));
        assert!(!has_sequence("9:;<="));
        assert!(has_repeats("aaaa"));
        assert!(!has_repeats("aaa"));
    }
}
