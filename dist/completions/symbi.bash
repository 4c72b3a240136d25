# symbi.bash - bash completion for symbi(1): commands, cron subcommands and
# their options; job names from `symbi cron list`. Installed by `make install`.
_symbi()
{
    local cur prev words cword
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    local commands="up cron dsl api-key agentpin audit run logs store version"
    local cron_cmds="list add remove pause resume reset status history context next describe why backfill herd approve deny run"
    # the command is the first word that is not a global option or its value
    local i cmd="" sub="" skip=0
    for ((i = 1; i < COMP_CWORD; i++)); do
        if ((skip)); then skip=0; continue; fi
        case ${COMP_WORDS[i]} in
            --store|--data-dir|--config) skip=1 ;;
            -*) ;;
            *) if [[ -z $cmd ]]; then cmd=${COMP_WORDS[i]}; elif [[ -z $sub ]]; then sub=${COMP_WORDS[i]}; fi ;;
        esac
    done
    case $prev in
        --data-dir|--agents) COMPREPLY=($(compgen -d -- "$cur")); return ;;
        --config|--file|--store) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --format) COMPREPLY=($(compgen -W "table json csv text" -- "$cur")); return ;;
        --tz) COMPREPLY=($(compgen -W "UTC Europe/Berlin Europe/London America/New_York Asia/Tokyo" -- "$cur")); return ;;
    esac
    if [[ -z $cmd ]]; then
        COMPREPLY=($(compgen -W "$commands --store --data-dir --config --help --version" -- "$cur"))
        return
    fi
    case $cmd in
        cron)
            if [[ -z $sub ]]; then
                COMPREPLY=($(compgen -W "$cron_cmds" -- "$cur"))
                return
            fi
            local opts
            case $sub in
                next) opts="--tz --from --count --format --dst-gap --dst-overlap" ;;
                describe) opts="--tz --format --dst-gap --dst-overlap" ;;
                why) opts="--at --format" ;;
                backfill) opts="--from --to --dry-run --format" ;;
                herd) opts="--hours --threshold --format" ;;
                list) opts="--status --agent --format" ;;
                history) opts="--limit --status --format" ;;
                status) opts="--history --watch" ;;
                run) opts="--input --wait --local" ;;
                add) opts="--file --schedule --json" ;;
                remove) opts="--force --name" ;;
                context) opts="--clear --format" ;;
                approve|deny) opts="--as" ;;
            esac
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "$opts --help" -- "$cur"))
            else
                case $sub in
                    why|backfill|status|history|context|run|pause|resume|reset|remove)
                        COMPREPLY=($(compgen -W "$(symbi cron list --format csv 2>/dev/null | tail -n +2 | cut -d, -f2)" -- "$cur")) ;;
                esac
            fi ;;
        store) COMPREPLY=($(compgen -W "check prune --dry-run" -- "$cur")) ;;
        dsl) COMPREPLY=($(compgen -W "check --format" -- "$cur") $(compgen -f -- "$cur")) ;;
        api-key) COMPREPLY=($(compgen -W "create list revoke --name --scope --format" -- "$cur")) ;;
        agentpin) COMPREPLY=($(compgen -W "keygen issue verify --kid --out --key --iss --sub --ttl --capabilities --agent" -- "$cur")) ;;
        audit) COMPREPLY=($(compgen -W "query --type --since --until --job --limit --format" -- "$cur")) ;;
        up) COMPREPLY=($(compgen -W "--listen --agents --environment" -- "$cur")) ;;
        logs) COMPREPLY=($(compgen -W "--filter --level --follow --since" -- "$cur")) ;;
        run) COMPREPLY=($(compgen -W "--input --file" -- "$cur")) ;;
    esac
}
complete -F _symbi symbi
